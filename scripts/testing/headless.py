"""Shared by the browser tests' drivers: headless Chromium through Selenium, and a one-shot page server.

Pages come from a small HTTP server of their own, so what they play is fetched cross-origin (as a shop's player page
would fetch it) and CORS must work; Chromium's native HLS also refuses opaque (data:) origins.
"""
import http.server
import threading

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(width=800, height=600):
    """A headless Chromium that may autoplay (muted) media."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                     "--mute-audio", f"--window-size={width},{height}"]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def serve(files):
    """Serves `files` ({path: (content type, bytes)}; "/" also answers any path not listed) on 127.0.0.1 from a
    daemon thread. Returns the port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            kind, body = files.get(self.path.split("?")[0], files["/"])
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]

"""Shared by the browser tests' drivers: headless Chromium through Selenium, and a one-shot page server.

Pages come from a small HTTP server of their own, so what they play is fetched cross-origin (as a shop's player page
would fetch it) and CORS must work; Chromium's native HLS also refuses opaque (data:) origins.
"""
import http.server
import threading
import time

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


def wait(what, condition, timeout, interval=0.2):
    """Polls `condition` until it returns something truthy (returned) or `timeout` s pass (AssertionError naming
    `what`)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def open_console(driver, base, token):
    """Opens CueCast's console in `driver` and passes its token gate."""
    from selenium.webdriver.common.by import By
    driver.get(f"{base}/console")
    wait("the token form", lambda: driver.find_element(By.ID, "gate").is_displayed(), 10)
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "save-token").click()


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

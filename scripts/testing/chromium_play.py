#!/usr/bin/env python3
"""Plays an HLS URL in headless Chromium (native HLS) and reports how far playback got.

The page comes from a small HTTP server of its own, so the stream is fetched cross-origin (as a shop's player
page would fetch it) and CORS must work. Chromium's native HLS refuses opaque (data:) origins.

Usage: chromium_play.py URL MIN_SECONDS TIMEOUT SCREENSHOT.png
Prints a JSON object {"currentTime", "error", "readyState"}; exits 0 when currentTime reached MIN_SECONDS with no
media error, 1 otherwise.
"""
import json
import sys
import time
import http.server
import threading

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def main(url, min_seconds, timeout, screenshot):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                     "--mute-audio", "--window-size=800,600"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        page = ("<html><body style='margin:0;background:#000'><video id=v muted autoplay playsinline crossorigin=anonymous "
                f"style='width:640px;height:360px' src='{url}'></video></body></html>").encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
        deadline = time.time() + timeout
        state = {}
        while time.time() < deadline:
            state = driver.execute_script(
                "const v = document.getElementById('v');"
                "return {currentTime: v.currentTime, error: v.error ? v.error.code + ' ' + v.error.message : null,"
                " readyState: v.readyState};")
            if state["error"] or state["currentTime"] >= min_seconds:
                break
            time.sleep(0.5)
        driver.save_screenshot(screenshot)
        print(json.dumps(state))
        return 0 if not state.get("error") and state.get("currentTime", 0) >= min_seconds else 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))

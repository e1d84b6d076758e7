#!/usr/bin/env python3
"""Plays an HLS URL in headless Chromium (native HLS) and reports how far playback got.

The page comes from a small HTTP server of its own (headless.py), so the stream is fetched cross-origin.

Usage: chromium_play.py URL MIN_SECONDS TIMEOUT SCREENSHOT.png
Prints a JSON object {"currentTime", "error", "readyState"}; exits 0 when currentTime reached MIN_SECONDS with no
media error, 1 otherwise.
"""
import json
import sys
import time

from headless import chromium, serve


def main(url, min_seconds, timeout, screenshot):
    driver = chromium()
    try:
        page = ("<html><body style='margin:0;background:#000'><video id=v muted autoplay playsinline crossorigin=anonymous "
                f"style='width:640px;height:360px' src='{url}'></video></body></html>").encode()
        port = serve({"/": ("text/html", page)})
        driver.get(f"http://127.0.0.1:{port}/")
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

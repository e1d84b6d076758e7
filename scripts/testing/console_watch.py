#!/usr/bin/env python3
"""Drives the operator console and the viewer page in two headless Chromium browsers against a live stream.

Usage: console_watch.py BASE_URL ADMIN_TOKEN APP/STREAM ARTIFACT_DIR

Checks, in order: the console accepts the token and lists the stream; its preview plays; its sparklines gain
points; the viewer page (phone-sized) plays; "Pin product" in the console makes the product card appear on the
viewer page when the picture reaches the cue's frame (no sooner than the viewer's latency minus 1 s, no later
than its latency plus 2 s); the cue shows in the console's cue log; its EXT-X-DATERANGE is in the playlist.
Screenshots go to ARTIFACT_DIR. Prints one JSON object with the figures; exits 0 when every check passed.
"""
import json
import sys
import time
import urllib.request

from headless import chromium, open_console, wait
from selenium.webdriver.common.by import By


def main(base, token, stream, artifacts, push_url=None):
    figures = {}
    console = chromium(1280, 1000)
    viewer = chromium(390, 844)  # a phone
    try:
        # Console: the token gate, then the stream's card.
        open_console(console, base, token)
        card_selector = f'section.stream[data-stream="{stream}"]'
        wait("the stream's card", lambda: console.find_elements(By.CSS_SELECTOR, card_selector), 15)
        assert console.execute_script("return localStorage.getItem('cuecast.adminToken')") == token, "token not kept"
        card = console.find_element(By.CSS_SELECTOR, card_selector)
        preview = card.find_element(By.TAG_NAME, "video")
        wait("the preview to play 1 s", lambda: console.execute_script("return arguments[0].currentTime", preview) > 1, 30)

        def points():
            return int(card.find_element(By.CSS_SELECTOR, ".sparkline.bitrate polyline").get_attribute("data-points") or 0)
        first = points()
        wait("sparklines to gain 3 points", lambda: points() >= first + 3, 15)
        figures["sparklinePoints"] = points()
        figures["consoleBitrateKbps"] = float(card.find_element(By.CSS_SELECTOR, '[data-figure="bitrate"]').text)
        figures["consoleFrameRate"] = float(card.find_element(By.CSS_SELECTOR, '[data-figure="fps"]').text)

        # Viewer page: plays, knows its position in program date time.
        viewer.get(f"{base}/watch/{stream}")
        wait("the viewer to play 2 s", lambda: viewer.execute_script("return document.getElementById('video').currentTime") > 2, 40)
        wait("the viewer's clock", lambda: viewer.execute_script("return window.cuecast.latency()") is not None, 10)
        figures["viewerPlaylist"] = viewer.execute_script("return window.cuecast.playlist()")
        figures["viewerPlayer"] = viewer.execute_script("return window.cuecast.player()")
        assert figures["viewerPlaylist"].endswith("/ll.m3u8"), f"the viewer page plays {figures['viewerPlaylist']}, not the low-latency playlist"
        assert not viewer.find_element(By.ID, "product").is_displayed(), "a product card shows before any pin"

        # Pin a product from the console.
        title = f"Tea set {int(time.time() * 1000) % 100000}"
        form = card.find_element(By.CSS_SELECTOR, 'form[data-kind="product.pin"]')
        form.find_element(By.NAME, "sku").send_keys("TEA-1")
        form.find_element(By.NAME, "title").send_keys(title)
        form.find_element(By.NAME, "price").send_keys("199")
        form.find_element(By.NAME, "image").send_keys("https://example.com/tea.jpg")
        form.find_element(By.XPATH, ".//button[text()='Pin product']").click()
        clicked = time.time()
        result = card.find_element(By.CSS_SELECTOR, ".result")
        cue_id = wait("the console to confirm the cue", lambda: result.get_attribute("data-cue"), 15, 0.05)

        shown = wait("the product card on the viewer page", lambda: viewer.execute_script(
            "const c = document.getElementById('product'); return !c.hidden && document.getElementById('product-title').textContent === arguments[0]"
            " ? {at: Date.now() / 1000, latency: window.cuecast.latency()} : null", title), 30, 0.05)
        figures["clickToCard"] = round(shown["at"] - clicked, 3)
        figures["viewerLatency"] = round(shown["latency"], 3)
        viewer.save_screenshot(f"{artifacts}/watch-product-card.png")
        assert figures["clickToCard"] <= figures["viewerLatency"] + 2, f"card too late: {figures}"
        assert figures["clickToCard"] >= figures["viewerLatency"] - 1, f"card ahead of the picture: {figures}"

        # The console's cue log shows the cue; the playlist carries its DATERANGE.
        wait("the cue in the console's log", lambda: card.find_elements(By.CSS_SELECTOR, f'.cuelog tr[data-cue="{cue_id}"]'), 10)
        if push_url:
            # A push target from the stream card: added, seen live (key masked), switched off.
            form = card.find_element(By.CSS_SELECTOR, 'form[data-kind="push"]')
            form.find_element(By.NAME, "name").send_keys("console-push")
            form.find_element(By.NAME, "url").send_keys(push_url)
            form.find_element(By.XPATH, ".//button[text()='Add target']").click()
            item = '.pushes li[data-state="live"]'
            wait("the push target live on the card", lambda: card.find_elements(By.CSS_SELECTOR, item), 30)
            text = card.find_element(By.CSS_SELECTOR, item).text
            key = push_url.rsplit("/", 1)[1]
            assert "console-push" in text and key not in text and "…" in text, f"push line: {text}"
            figures["pushLine"] = text
            card.find_element(By.CSS_SELECTOR, f"{item} button").click()
            wait("the push target switched off", lambda: card.find_elements(By.CSS_SELECTOR, '.pushes li[data-state="disabled"]'), 15)
        console.save_screenshot(f"{artifacts}/console.png")
        playlist = urllib.request.urlopen(f"{base}/hls/{stream}/index.m3u8").read().decode()
        dateranges = [line for line in playlist.splitlines() if line.startswith("#EXT-X-DATERANGE:") and f'ID="{cue_id}"' in line]
        assert dateranges and 'CLASS="com.cuecast.product.pin"' in dateranges[0], f"no DATERANGE for {cue_id}:\n{playlist}"
        figures["cue"] = cue_id
        figures["ok"] = True
        print(json.dumps(figures))
        return 0
    except Exception as error:  # report what was measured so far with the failure
        figures["error"] = str(error)
        for name, driver in (("console", console), ("watch", viewer)):
            try:
                driver.save_screenshot(f"{artifacts}/{name}-failure.png")
            except Exception:
                pass
        print(json.dumps(figures))
        return 1
    finally:
        console.quit()
        viewer.quit()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))

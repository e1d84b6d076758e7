#!/usr/bin/env python3
"""Sets up a push target in the operator console for a stream that is not live yet, then sees it go live.

Usage: console_offline_push.py BASE_URL ADMIN_TOKEN APP/STREAM PUSH_URL ARTIFACT_DIR KEYLESS_STREAM

Checks, in order: the console lists the stream (it has a key) under "Not live" with a push form, and also
KEYLESS_STREAM (no key; the caller gave it a target through the API) with that target and a note that it cannot
publish until it has a key; a target added
there is listed with its key masked; once the stream publishes (the caller starts the publish when the API shows
the target), the stream's live card lists the target as live and the "Not live" entry is gone; a second target
added on the live card, with nothing listening, shows its last error and when. Screenshots go to ARTIFACT_DIR.
Prints one JSON object with what it saw; exits 0 when every check passed.
"""
import json
import re
import sys

from headless import chromium, open_console, wait
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By


DEAD_TARGET = "rtmp://127.0.0.1:1/live/dead-key-0123456789"


def first_line(console, selector):
    """(text, data-state) of the first element matching `selector`, or None. The console rebuilds a card's target
    lines at every refresh, so an element found a moment ago may be gone: its text is read here, once, and a line
    replaced while being read counts as not there yet."""
    try:
        items = console.find_elements(By.CSS_SELECTOR, selector)
        return (items[0].text, items[0].get_attribute("data-state")) if items else None
    except StaleElementReferenceException:
        return None


def main(base, token, stream, push_url, artifacts, keyless):
    seen = {}
    console = chromium(1280, 1000)
    try:
        open_console(console, base, token)
        offline = f'#offline section.stream.offline[data-stream="{stream}"]'
        card = wait("the stream under 'Not live'", lambda: console.find_elements(By.CSS_SELECTOR, offline), 20)[0]
        assert console.find_element(By.ID, "offline").is_displayed(), "the 'Not live' list is hidden"
        assert not console.find_elements(By.CSS_SELECTOR, f'#streams section.stream[data-stream="{stream}"]'), "listed as live"

        assert not card.find_element(By.CSS_SELECTOR, ".keyless").is_displayed(), "a note on a stream that has a key"
        keyless_card = wait("the keyless stream under 'Not live'", lambda: console.find_elements(
            By.CSS_SELECTOR, f'#offline section.stream.offline[data-stream="{keyless}"]'), 20)[0]
        note = keyless_card.find_element(By.CSS_SELECTOR, ".keyless")
        assert note.is_displayed() and "no active stream key" in note.text and f"cuecast keys add {keyless}" in note.text, \
            f"keyless note: {note.text!r}"
        seen["keylessNote"] = note.text
        seen["keylessLine"] = wait("the keyless stream's target", lambda: first_line(
            console, f'#offline section.stream.offline[data-stream="{keyless}"] .pushes li[data-push]'), 10)[0]

        form = card.find_element(By.CSS_SELECTOR, 'form[data-kind="push"]')
        form.find_element(By.NAME, "name").send_keys("before-show")
        form.find_element(By.NAME, "url").send_keys(push_url)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        text, state = wait("the target listed on the offline card",
                           lambda: first_line(console, f'{offline} .pushes li[data-push]'), 15)
        key = push_url.rsplit("/", 1)[1]
        assert "before-show" in text and key not in text and "…" in text, f"offline push line: {text}"
        seen["offlineLine"] = text
        seen["offlineState"] = state
        console.save_screenshot(f"{artifacts}/console-offline-push.png")

        # The caller publishes now; the live card takes over and its target goes live.
        live = f'#streams section.stream[data-stream="{stream}"]'
        line = wait("the target live on the stream's live card",
                    lambda: first_line(console, f'{live} .pushes li[data-state="live"]'), 60)[0]
        seen["liveLine"] = line
        assert key not in line, f"live push line: {line}"
        wait("the 'Not live' entry gone", lambda: not console.find_elements(By.CSS_SELECTOR, offline), 10)
        console.save_screenshot(f"{artifacts}/console-offline-push-live.png")

        # A second target, added on the live card, that nothing listens for: its line says why it is down, and when.
        form = console.find_element(By.CSS_SELECTOR, f'{live} form[data-kind="push"]')
        form.find_element(By.NAME, "name").send_keys("nobody-there")
        form.find_element(By.NAME, "url").send_keys(DEAD_TARGET)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        def dead_line():
            # The card's lines are rebuilt every refresh: read each line's text once, here, and keep that copy. The
            # next try shows while the target waits out its back-off (not while it is connecting again).
            try:
                texts = [item.text for item in console.find_elements(By.CSS_SELECTOR, f'{live} .pushes li[data-push]')]
            except StaleElementReferenceException:
                return None
            return next((text for text in texts
                         if "nobody-there" in text and "last error at " in text and "next try at " in text), None)
        failed = wait("the dead target's last error and next try on the live card", dead_line, 30)
        seen["failedLine"] = failed
        assert "connection refused" in failed and DEAD_TARGET.rsplit("/", 1)[1] not in failed, f"dead push line: {failed}"
        # Both times in UTC to the second, as the API and the CLI write them.
        stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
        assert re.search(f"last error at {stamp}: ", failed) and re.search(f"next try at {stamp}", failed), \
            f"dead push line's times: {failed}"
        seen["ok"] = True
    finally:
        console.quit()
        print(json.dumps(seen))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:7])
    except AssertionError as error:
        print(f"check failed: {error}", file=sys.stderr)
        sys.exit(1)

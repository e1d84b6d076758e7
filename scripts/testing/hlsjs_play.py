#!/usr/bin/env python3
"""Plays an LL-HLS URL with hls.js (low-latency mode) in headless Chromium and reports what hls.js saw.

Usage: hlsjs_play.py URL HLSJS_FILE --seconds N [--timeout T] [--cue-url URL --cue-token TOKEN --cue-body JSON]

HLSJS_FILE is hls.js as a classic script that defines `window.Hls` (scripts/lib/common.sh `ensure_hlsjs`). The
page and hls.js come from a small HTTP server of this script's own, so the stream is fetched cross-origin, as a
shop's page would. Once playback has started (currentTime > 1 s), the cue (if given) is POSTed to the server; the
script then plays N seconds more. Every `emsg`/ID3 metadata sample hls.js hands the page is decoded with mutagen.

Prints one JSON object: hls.js version and mode, the playlist's server control as hls.js read it, parts and
fragments loaded, latency samples (hls.latency, s), playback progress, fatal and non-fatal errors, the cue API's
answer and the playback position when it was placed (s), and the metadata samples ({pts, type, texts}). Exits 0 when it played, 1 otherwise.
"""
import argparse
import base64
import io
import json
import sys
import time
import urllib.parse
import urllib.request

from headless import chromium, serve
from mutagen.id3 import ID3

PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id=v muted autoplay playsinline style="width:640px;height:360px"></video>
<script src="/hls.js"></script>
<script>
"use strict";
const report = {version: Hls.version, supported: Hls.isSupported(), parts: 0, fragments: 0, errors: [], fatal: null,
                metadata: [], level: null};
window.report = report;
const hls = new Hls({lowLatencyMode: true});
window.player = hls;
hls.on(Hls.Events.LEVEL_LOADED, (_, data) => {
  const d = data.details;
  report.level = {live: d.live, canBlockReload: d.canBlockReload, canSkipUntil: d.canSkipUntil,
                  partTarget: d.partTarget, partHoldBack: d.partHoldBack, partCount: (d.partList || []).length,
                  fragmentCount: d.fragments.length};
});
hls.on(Hls.Events.FRAG_LOADED, (_, data) => { if (data.part) report.parts += 1; else report.fragments += 1; });
hls.on(Hls.Events.FRAG_PARSING_METADATA, (_, data) => {
  for (const sample of data.samples) {
    let binary = "";
    for (const byte of sample.data) binary += String.fromCharCode(byte);
    report.metadata.push({pts: sample.pts, type: String(sample.type), id3: btoa(binary)});
  }
});
hls.on(Hls.Events.ERROR, (_, data) => {
  const text = `${data.type} ${data.details}`;
  if (data.fatal) report.fatal = text; else if (report.errors.length < 20) report.errors.push(text);
});
hls.loadSource(new URLSearchParams(location.search).get("src"));
hls.attachMedia(document.getElementById("v"));
</script></body></html>"""


def texts(id3_base64):
    """The TXXX values of one ID3 tag, read by mutagen (no code shared with the server)."""
    try:
        tag = ID3(io.BytesIO(base64.b64decode(id3_base64)))
    except Exception as error:  # an unreadable tag is reported, not hidden
        return [f"unreadable ID3: {error}"]
    return [str(text) for frame in tag.getall("TXXX") for text in frame.text]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("hlsjs")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--cue-url")
    parser.add_argument("--cue-token")
    parser.add_argument("--cue-body")
    args = parser.parse_args()

    driver = chromium()
    result = {"latencies": [], "cue": None}
    try:
        with open(args.hlsjs, "rb") as file:
            port = serve({"/": ("text/html", PAGE.encode()), "/hls.js": ("text/javascript", file.read())})
        driver.get(f"http://127.0.0.1:{port}/?src={urllib.parse.quote(args.url, safe='')}")
        state = lambda: driver.execute_script(
            "const v = document.getElementById('v');"
            "return {report: window.report, currentTime: v.currentTime, latency: window.player.latency,"
            " targetLatency: window.player.targetLatency, lowLatencyMode: window.player.lowLatencyMode};")
        deadline = time.time() + args.timeout
        started = None
        current = state()
        while time.time() < deadline and not current["report"]["fatal"]:
            if started is None and current["currentTime"] > 1:
                started = current["currentTime"]
                result["positionAtCue"] = started
                if args.cue_url:
                    request = urllib.request.Request(args.cue_url, data=args.cue_body.encode(), method="POST", headers={
                        "Authorization": f"Bearer {args.cue_token}", "Content-Type": "application/json"})
                    with urllib.request.urlopen(request, timeout=10) as response:
                        result["cue"] = {"status": response.status, "body": json.loads(response.read())}
            if started is not None:
                if current["latency"]:
                    result["latencies"].append(round(current["latency"], 3))
                    result.setdefault("timeline", []).append([round(current["currentTime"], 2), round(current["latency"], 3)])
                if current["currentTime"] >= started + args.seconds:
                    break
            time.sleep(0.25)
            current = state()
        report = current.pop("report")
        for sample in report["metadata"]:
            sample["texts"] = texts(sample.pop("id3"))
        result.update(current, **report)
        result["played"] = round(current["currentTime"] - (started or current["currentTime"]), 3)
        print(json.dumps(result))
        return 0 if started is not None and not report["fatal"] and result["played"] >= args.seconds else 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

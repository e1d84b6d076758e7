#!/usr/bin/env python3
"""Reads the cues a Low-Latency HLS stream carries in `emsg` boxes, with tools that share no code with the server:
the ISO-BMFF walker in isobmff.py and mutagen's ID3 parser. Follows ll.m3u8 for --seconds, fetching every part
once; for each event message prints its fields, the ID3 TXXX text, and whether its presentation time is the
composition time (tfdt + composition offset) of a video sample in the same part. Prints JSON."""
import argparse
import io
import json
import os
import sys
import time
import urllib.request

from mutagen.id3 import ID3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isobmff  # noqa: E402
from llhls_client import parse  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="http://…/ll.m3u8")
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()
    base = options.url.rsplit("/", 1)[0] + "/"
    fetched, events, maps = set(), [], {}
    deadline = time.monotonic() + options.seconds
    while time.monotonic() < deadline:
        playlist = parse(urllib.request.urlopen(options.url, timeout=10).read().decode())
        for segment in playlist["segments"] + ([playlist["open"]] if playlist["open"] else []):
            if segment["map"] not in maps:
                maps[segment["map"]] = isobmff.init_tracks(urllib.request.urlopen(base + segment["map"], timeout=10).read())
            tracks = maps[segment["map"]]
            for part in segment["parts"]:
                if part["uri"] in fetched:
                    continue
                fetched.add(part["uri"])
                data = urllib.request.urlopen(base + part["uri"], timeout=10).read()
                found = isobmff.emsg_boxes(data)
                if not found:
                    continue
                samples = isobmff.fragment_samples(data, tracks)
                video = [t for t, info in tracks.items() if info["handler"] == "vide"]
                times = {decode + offset for decode, _, _, offset in samples.get(video[0], [])} if video else set()
                timescale = tracks[video[0]]["timescale"] if video else None
                for box in found:
                    tag = ID3(io.BytesIO(box["message"]))
                    texts = [frame.text[0] for frame in tag.getall("TXXX")]
                    events.append({
                        "part": part["uri"], "version": box["version"], "scheme": box["scheme"], "value": box["value"],
                        "id": box["id"], "timescale": box["timescale"], "presentationTime": box["presentation_time"],
                        "duration": box["duration"], "text": texts[0] if texts else None,
                        "onVideoSample": box["timescale"] == timescale and box["presentation_time"] in times,
                        "topLevel": isobmff.top_level(data)})
        time.sleep(0.2)
    print(json.dumps({"events": events, "parts": len(fetched)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

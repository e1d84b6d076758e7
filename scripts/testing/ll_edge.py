#!/usr/bin/env python3
"""The live edge of a Low-Latency HLS playlist, for the tests; shares no code with the server.

Usage: ll_edge.py URL_OF_LL_M3U8

Reads the playlist once, its newest initialization segment, its first listed part and its newest part, and prints
JSON: {"parts": parts listed, "first": the first part's first video decode time, "newest": {"uri", "decodeTimes":
its video samples' decode times}}, times in the video track's timescale."""
import json
import os
import re
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isobmff  # noqa: E402


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def main():
    url = sys.argv[1]
    playlist = get(url).decode()
    maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
    parts = re.findall(r'#EXT-X-PART:.*?URI="([^"]+)"', playlist)
    if not maps or not parts:
        print(json.dumps({"parts": len(parts), "error": "no map or no part"}))
        return 1
    tracks = isobmff.init_tracks(get(urllib.parse.urljoin(url, maps[-1])))
    video = next(t for t, info in tracks.items() if info["handler"] == "vide")

    def decode_times(uri):
        samples = isobmff.fragment_samples(get(urllib.parse.urljoin(url, uri)), tracks).get(video, [])
        return [sample[0] for sample in samples]
    first = decode_times(parts[0])
    print(json.dumps({"parts": len(parts), "first": first[0] if first else None,
                      "newest": {"uri": parts[-1], "decodeTimes": decode_times(parts[-1])}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

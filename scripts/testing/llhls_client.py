#!/usr/bin/env python3
"""A small Low-Latency HLS client (draft-pantos-hls-rfc8216bis) for the tests; shares no code with the server.

Starts at the newest independent part of ll.m3u8, then follows the stream part by part for --seconds: each next
part is asked for with a blocking reload (_HLS_msn/_HLS_part) or, every other time, fetched straight from the
preload hint before it exists. Every part is parsed (isobmff.py) and checked: per track, its first sample's
decode time is not before the previous part's end (no frame twice) and less than that part's last sample
duration after it (no frame lost: a server that ends a part on a forecast frame duration may leave a gap
smaller than a frame, counted in "gaps"), INDEPENDENT=YES exactly when it starts with a video sync sample, and
its bytes never change if fetched again. Prints JSON."""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isobmff  # noqa: E402


def get(url, timeout=15):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started


def parse(text):
    """The playlist as {"segments": [{msn, uri, duration, parts, map}], "open": {msn, parts, map} | None, ...}."""
    playlist = {"segments": [], "open": None, "hint": None, "ended": False, "part_target": None}
    msn, parts, current_map = None, [], None
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:"):
            current_map = attributes(line)["URI"]
        elif line.startswith("#EXT-X-PART-INF:"):
            playlist["part_target"] = float(attributes(line)["PART-TARGET"])
        elif line.startswith("#EXT-X-PART:"):
            a = attributes(line)
            parts.append({"uri": a["URI"], "duration": float(a["DURATION"]), "independent": a.get("INDEPENDENT") == "YES"})
        elif line.startswith("#EXT-X-PRELOAD-HINT:"):
            playlist["hint"] = attributes(line)["URI"]
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line == "#EXT-X-ENDLIST":
            playlist["ended"] = True
        elif line and not line.startswith("#"):
            playlist["segments"].append({"msn": msn, "uri": line, "duration": duration, "parts": parts, "map": current_map})
            msn, parts = msn + 1, []
    if parts:
        playlist["open"] = {"msn": msn, "parts": parts, "map": current_map}
    return playlist


def attributes(line):
    result, rest = {}, line.split(":", 1)[1]
    while rest:
        name, rest = rest.split("=", 1)
        if rest.startswith('"'):
            value, rest = rest[1:].split('"', 1)
            rest = rest[1:]
        else:
            value, _, rest = rest.partition(",")
        result[name] = value
    return result


def parts_of(playlist, msn):
    """The parts listed for segment `msn` and whether the segment is whole."""
    for segment in playlist["segments"]:
        if segment["msn"] == msn:
            return segment["parts"], True, segment["map"]
    if playlist["open"] and playlist["open"]["msn"] == msn:
        return playlist["open"]["parts"], False, playlist["open"]["map"]
    return None, False, None


def newest_independent_part(playlist):
    """(msn, part index) of the newest part listed with INDEPENDENT=YES, where a player starts; None if none is."""
    start = None
    for segment in playlist["segments"] + ([playlist["open"]] if playlist["open"] else []):
        for index, part in enumerate(segment["parts"]):
            if part["independent"]:
                start = (segment["msn"], index)
    return start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="http://…/ll.m3u8")
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()
    base = options.url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    # A signed URL's query (?token=…) is kept on every blocking reload, as a player keeps it.
    query = options.url.split("?", 1)[1] + "&" if "?" in options.url else ""
    errors = []
    report = {"parts": 0, "samples": {}, "blocking_reloads": 0, "hint_fetches": 0, "waits": [], "errors": errors}
    status, body, _ = get(options.url)
    if status != 200:
        print(json.dumps({"error": f"ll.m3u8: HTTP {status}: {body[:200]!r}"}))
        return 1
    playlist = parse(body.decode())
    start = newest_independent_part(playlist)
    if start is None:
        print(json.dumps({"error": "no independent part listed"}))
        return 1
    msn, index = start
    tracks, maps, seen, expected = None, {}, {}, {}
    deadline = time.monotonic() + options.seconds
    use_hint = False
    misses = []  # hinted parts answered 404: each must belong to a segment that ended before it
    while time.monotonic() < deadline:
        parts, whole, map_uri = parts_of(playlist, msn)
        if parts is not None and whole and index >= len(parts):
            msn, index = msn + 1, 0
            continue
        if parts is None or index >= len(parts):
            status, body, waited = get(base + f"ll.m3u8?{query}_HLS_msn={msn}&_HLS_part={index}")
            report["blocking_reloads"] += 1
            report["waits"].append(waited)
            if status != 200:
                errors.append(f"blocking reload msn {msn} part {index}: HTTP {status} {body[:200]!r}")
                break
            playlist = parse(body.decode())
            if playlist["ended"] and parts_of(playlist, msn)[0] is None:
                break
            # The answer must hold what was asked for (a cache in front must not answer with an older playlist):
            # the part, or, when its segment ended first, the next segment's part 0.
            listed, whole, _ = parts_of(playlist, msn)
            has = listed is not None and (index < len(listed) or (whole and (parts_of(playlist, msn + 1)[0] or [])))
            if not has and not playlist["ended"]:
                errors.append(f"blocking reload msn {msn} part {index} answered without it")
                break
            continue
        if misses:
            listed = {p["uri"] for s in playlist["segments"] for p in s["parts"]} | \
                ({p["uri"] for p in playlist["open"]["parts"]} if playlist["open"] else set())
            for missed in listed & set(misses):
                errors.append(f"preload hint {missed} was answered 404 but is listed")
                misses.remove(missed)
        part = parts[index]
        if map_uri not in maps:
            status, init, _ = get(base + map_uri)
            if status != 200:
                errors.append(f"init {map_uri}: HTTP {status}")
                break
            maps[map_uri] = init
            tracks = isobmff.init_tracks(init)
        status, data, _ = get(base + part["uri"])
        if status != 200:
            errors.append(f"part {part['uri']}: HTTP {status}")
            break
        if part["uri"] in seen and seen[part["uri"]] != data:
            errors.append(f"part {part['uri']} changed")
        seen[part["uri"]] = data
        if isobmff.top_level(data)[:1] != ["moof"]:
            errors.append(f"part {part['uri']} does not start with moof: {isobmff.top_level(data)}")
        samples = isobmff.fragment_samples(data, tracks)
        video = [t for t, info in tracks.items() if info["handler"] == "vide"]
        if video and samples.get(video[0]):
            starts_sync = samples[video[0]][0][2]
            if starts_sync != part["independent"]:
                errors.append(f"part {part['uri']}: INDEPENDENT={'YES' if part['independent'] else 'NO'} but its first video sample "
                              f"is {'a' if starts_sync else 'not a'} sync sample")
        for track, list_ in samples.items():
            if not list_:
                continue
            if track in expected:
                end, last_duration = expected[track]
                gap = list_[0][0] - end
                if gap < 0 or gap >= max(last_duration, 1):
                    errors.append(f"part {part['uri']} track {track}: starts at {list_[0][0]}, previous part ended at {end}")
                elif gap:
                    report["gaps"] = report.get("gaps", 0) + 1
            expected[track] = (list_[-1][0] + (list_[-1][1] or 0), list_[-1][1] or 0)
            report["samples"][str(track)] = report["samples"].get(str(track), 0) + len(list_)
        report["parts"] += 1
        report.setdefault("handlers", {str(t): info["handler"] for t, info in tracks.items()})
        index += 1
        use_hint = not use_hint
        if use_hint and playlist.get("hint"):
            # Ask for the hinted part before it exists: the server holds the request until it is complete.
            hinted = playlist["hint"]
            status, data, waited = get(base + hinted)
            report["hint_fetches"] += 1
            report["waits"].append(waited)
            if status == 404:
                # Allowed when the hint's segment ended before that part (§6.2.6): the next reload must show it.
                report["hint_misses"] = report.get("hint_misses", 0) + 1
                misses.append(hinted)
            elif status != 200:
                errors.append(f"preload hint {hinted}: HTTP {status} {data[:200]!r}")
                break
            else:
                seen[hinted] = data
    print(json.dumps(report))
    return 0 if not errors else 2


if __name__ == "__main__":
    sys.exit(main())

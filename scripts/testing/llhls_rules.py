#!/usr/bin/env python3
"""Reloads a Low-Latency HLS playlist for --seconds and checks the draft's rules (draft-pantos-hls-rfc8216bis) on
every version and across them. Shares no code with the server; parts are parsed by the `m3u8` package.

Checks: parts no longer than PART-TARGET (and, but for a segment's last, at least 85 % of it); a whole segment's
parts add up to its EXTINF; EXTINF rounds to at most TARGETDURATION, which never changes; PART-HOLD-BACK at least
3 × PART-TARGET (CueCast's promise; the draft asks 2 ×) and HOLD-BACK at least 3 × TARGETDURATION; CAN-SKIP-UNTIL,
when given, at least 6 × TARGETDURATION; media sequence and part numbering only move forward; a part URI never
changes meaning (its segment, place, duration and independence); the preload hint names the part after the last
listed one. Prints "ok: …" or the violations, exit status 1."""
import argparse
import sys
import time
import urllib.request

import m3u8


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--interval", type=float, default=0.1)
    options = parser.parse_args()
    errors, meanings, versions = [], {}, 0
    last_sequence, last_position, target = None, None, None
    deadline = time.monotonic() + options.seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(options.url, timeout=10) as response:
            text = response.read().decode()
        versions += 1
        playlist = m3u8.loads(text)
        where = f"version {versions}"
        part_target = playlist.part_inf.part_target if playlist.part_inf else None
        control = playlist.server_control
        if part_target is None:
            errors.append(f"{where}: no EXT-X-PART-INF")
            break
        if target is None:
            target = playlist.target_duration
        elif playlist.target_duration != target:
            errors.append(f"{where}: TARGETDURATION changed from {target} to {playlist.target_duration}")
        if not control or control.can_block_reload != "YES":
            errors.append(f"{where}: no CAN-BLOCK-RELOAD=YES")
        else:
            if (control.part_hold_back or 0) < 3 * part_target - 1e-9:
                errors.append(f"{where}: PART-HOLD-BACK {control.part_hold_back} < 3 × PART-TARGET {part_target}")
            if (control.hold_back or 0) < 3 * target:
                errors.append(f"{where}: HOLD-BACK {control.hold_back} < 3 × TARGETDURATION {target}")
            if control.can_skip_until is not None and control.can_skip_until < 6 * target:
                errors.append(f"{where}: CAN-SKIP-UNTIL {control.can_skip_until} < 6 × TARGETDURATION")
        sequence = playlist.media_sequence
        if last_sequence is not None and sequence < last_sequence:
            errors.append(f"{where}: media sequence went back from {last_sequence} to {sequence}")
        last_sequence = sequence
        position = None
        for offset, segment in enumerate(playlist.segments):
            msn = sequence + offset
            whole = segment.uri is not None and segment.duration is not None and segment.uri != ""
            parts = segment.parts
            for index, part in enumerate(parts):
                position = (msn, index)
                if part.duration > part_target + 1e-9:
                    errors.append(f"{where}: part {part.uri} lasts {part.duration} > PART-TARGET {part_target}")
                last_of_segment = whole and index == len(parts) - 1
                if not last_of_segment and part.duration < 0.85 * part_target - 1e-9:
                    errors.append(f"{where}: part {part.uri} lasts {part.duration} < 85 % of PART-TARGET {part_target}")
                meaning = (msn, index, part.duration, bool(part.independent == "YES" or part.independent is True))
                if meanings.setdefault(part.uri, meaning) != meaning:
                    errors.append(f"{where}: part {part.uri} was {meanings[part.uri]}, now {meaning}")
            if whole:
                if round(segment.duration) > target:
                    errors.append(f"{where}: segment {segment.uri} EXTINF {segment.duration} rounds above {target}")
                if parts and abs(sum(p.duration for p in parts) - segment.duration) > 0.002:
                    errors.append(f"{where}: parts of {segment.uri} add up to {sum(p.duration for p in parts):.5f}, "
                                  f"EXTINF {segment.duration}")
                if parts:
                    position = (msn, len(parts) - 1, "whole")
        if position is not None:
            if last_position is not None and position[:2] < last_position[:2]:
                errors.append(f"{where}: the last part went back from {last_position} to {position}")
            last_position = position
            hint = playlist.preload_hint
            if hint is None and not playlist.is_endlist:
                errors.append(f"{where}: no EXT-X-PRELOAD-HINT")
            elif hint is not None:
                expected = (position[0] + 1, 0) if len(position) == 3 else (position[0], position[1] + 1)
                meaning = meanings.get(hint.uri)
                if meaning is not None:
                    errors.append(f"{where}: preload hint {hint.uri} names a part already listed")
                hinted[hint.uri] = expected
        for uri, expected in list(hinted.items()):
            if uri in meanings and meanings[uri][:2] != expected:
                errors.append(f"{where}: hinted part {uri} was meant as {expected}, listed as {meanings[uri][:2]}")
        if len(errors) > 20:
            break
        time.sleep(options.interval)
    if errors:
        print("\n".join(errors[:40]))
        return 1
    print(f"ok: {versions} versions, {len(meanings)} parts")
    return 0


hinted = {}

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks successive reloads of one live media playlist against RFC 8216, with the third-party `m3u8` parser.

Usage: hls_rules.py PLAYLIST_FILE... (in the order they were fetched). Prints one line per violation and exits 1
if there is any; prints a summary and exits 0 otherwise.
"""
import sys

import m3u8


def main(paths):
    errors = []
    uri_to_msn = {}
    msn_to_uri = {}
    msn_to_discontinuity = {}
    last_msn = None
    last_disc_seq = None
    last_target = None
    segments_seen = 0
    for index, path in enumerate(paths):
        text = open(path).read()
        where = f"reload {index} ({path})"
        playlist = m3u8.loads(text)
        if playlist.is_variant:
            errors.append(f"{where}: expected a media playlist")
            continue
        target = playlist.target_duration
        if target is None or int(target) != target:
            errors.append(f"{where}: EXT-X-TARGETDURATION missing or not an integer: {target}")
            continue
        if last_target is not None and target != last_target:
            errors.append(f"{where}: target duration changed {last_target} -> {target} (RFC 8216 6.2.1: MUST NOT change)")
        last_target = target
        msn = playlist.media_sequence or 0
        if last_msn is not None and msn < last_msn:
            errors.append(f"{where}: media sequence went back {last_msn} -> {msn}")
        last_msn = msn
        disc_seq = playlist.discontinuity_sequence or 0
        if last_disc_seq is not None and disc_seq < last_disc_seq:
            errors.append(f"{where}: discontinuity sequence went back {last_disc_seq} -> {disc_seq}")
        last_disc_seq = disc_seq
        discontinuities = disc_seq
        for offset, segment in enumerate(playlist.segments):
            number = msn + offset
            segments_seen += 1
            if segment.discontinuity:
                discontinuities += 1
            if round(segment.duration) > target:
                errors.append(f"{where}: EXTINF {segment.duration} of {segment.uri} rounds above target {target}")
            if segment.program_date_time is None:
                errors.append(f"{where}: {segment.uri} has no EXT-X-PROGRAM-DATE-TIME")
            if uri_to_msn.setdefault(segment.uri, number) != number:
                errors.append(f"{where}: URI {segment.uri} was sequence {uri_to_msn[segment.uri]}, now {number}")
            if msn_to_uri.setdefault(number, segment.uri) != segment.uri:
                errors.append(f"{where}: sequence {number} was {msn_to_uri[number]}, now {segment.uri}")
            if msn_to_discontinuity.setdefault(number, discontinuities) != discontinuities:
                errors.append(f"{where}: sequence {number} was in discontinuity {msn_to_discontinuity[number]}, now {discontinuities}")
    for error in errors:
        print(error)
    if errors:
        return 1
    print(f"ok: {len(paths)} playlists, {len(msn_to_uri)} distinct segments, last sequence {max(msn_to_uri, default=-1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""A small ISO-BMFF (ISO/IEC 14496-12) reader for the tests: box walking, track timescales and default sample
durations from an init segment, and each fragment's samples (decode time, duration, sync flag) from its moof.
Shares no code with the server."""
import struct

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf"}


def boxes(data, offset=0, end=None):
    """Yields (type, payload_start, box_end) for the boxes between offset and end."""
    end = len(data) if end is None else end
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise ValueError(f"box {kind!r} at {offset} runs past its parent ({size} bytes)")
        yield kind, offset + header, offset + size
        offset += size


def top_level(data):
    return [kind.decode("latin-1") for kind, _, _ in boxes(data)]


def find(data, path, offset=0, end=None):
    """All payload ranges of boxes at `path` (a list of types) below the range."""
    if not path:
        return [(offset, end if end is not None else len(data))]
    found = []
    for kind, start, stop in boxes(data, offset, end):
        if kind == path[0]:
            found += find(data, path[1:], start, stop)
    return found


def init_tracks(data):
    """{track_id: {"timescale", "handler", "default_duration"}} from an init segment."""
    tracks = {}
    for start, stop in find(data, [b"moov", b"trak"]):
        tkhd = find(data, [b"tkhd"], start, stop)[0]
        version = data[tkhd[0]]
        track_id = struct.unpack(">I", data[tkhd[0] + (20 if version == 1 else 12):][:4])[0]
        mdhd = find(data, [b"mdia", b"mdhd"], start, stop)[0]
        version = data[mdhd[0]]
        timescale = struct.unpack(">I", data[mdhd[0] + (20 if version == 1 else 12):][:4])[0]
        hdlr = find(data, [b"mdia", b"hdlr"], start, stop)[0]
        handler = data[hdlr[0] + 8:hdlr[0] + 12].decode("latin-1")
        tracks[track_id] = {"timescale": timescale, "handler": handler, "default_duration": None}
    for start, stop in find(data, [b"moov", b"mvex", b"trex"]):
        track_id, _, duration = struct.unpack(">III", data[start + 4:start + 16])
        if track_id in tracks:
            tracks[track_id]["default_duration"] = duration
    return tracks


def fragment_samples(data, tracks):
    """{track_id: [(decode_time, duration, is_sync, composition_offset)]} of every moof in `data`."""
    result = {}
    for moof_start, moof_stop in find(data, [b"moof"]):
        for start, stop in find(data, [b"traf"], moof_start, moof_stop):
            tfhd = find(data, [b"tfhd"], start, stop)[0]
            flags = int.from_bytes(data[tfhd[0] + 1:tfhd[0] + 4], "big")
            track_id = struct.unpack(">I", data[tfhd[0] + 4:tfhd[0] + 8])[0]
            cursor = tfhd[0] + 8
            if flags & 0x1:
                cursor += 8
            if flags & 0x2:
                cursor += 4
            default_duration = (tracks.get(track_id) or {}).get("default_duration")
            default_flags = None
            if flags & 0x8:
                default_duration = struct.unpack(">I", data[cursor:cursor + 4])[0]
                cursor += 4
            if flags & 0x10:
                cursor += 4
            if flags & 0x20:
                default_flags = struct.unpack(">I", data[cursor:cursor + 4])[0]
            tfdt = find(data, [b"tfdt"], start, stop)[0]
            version = data[tfdt[0]]
            time = struct.unpack(">Q" if version == 1 else ">I", data[tfdt[0] + 4:tfdt[0] + (12 if version == 1 else 8)])[0]
            samples = result.setdefault(track_id, [])
            for run_start, _ in find(data, [b"trun"], start, stop):
                version = data[run_start]
                run_flags = int.from_bytes(data[run_start + 1:run_start + 4], "big")
                count = struct.unpack(">I", data[run_start + 4:run_start + 8])[0]
                cursor = run_start + 8
                if run_flags & 0x1:
                    cursor += 4
                first_flags = None
                if run_flags & 0x4:
                    first_flags = struct.unpack(">I", data[cursor:cursor + 4])[0]
                    cursor += 4
                for index in range(count):
                    duration, sample_flags, offset = default_duration, default_flags, 0
                    if run_flags & 0x100:
                        duration = struct.unpack(">I", data[cursor:cursor + 4])[0]
                        cursor += 4
                    if run_flags & 0x200:
                        cursor += 4
                    if run_flags & 0x400:
                        sample_flags = struct.unpack(">I", data[cursor:cursor + 4])[0]
                        cursor += 4
                    if run_flags & 0x800:
                        offset = struct.unpack(">i" if version == 1 else ">I", data[cursor:cursor + 4])[0]
                        cursor += 4
                    if index == 0 and first_flags is not None:
                        sample_flags = first_flags
                    # sample_is_non_sync_sample is bit 16 of the sample flags (§8.8.3.1).
                    is_sync = sample_flags is None or not (sample_flags >> 16) & 1
                    samples.append((time, duration, is_sync, offset))
                    time += duration or 0
    return result


def emsg_boxes(data):
    """Every top-level emsg box (§ ISO/IEC 23009-1 5.10.3.3) as a dict."""
    found = []
    for kind, start, stop in boxes(data):
        if kind != b"emsg":
            continue
        version = data[start]
        cursor = start + 4
        if version == 1:
            timescale, presentation_time, duration, event_id = struct.unpack(">IQII", data[cursor:cursor + 20])
            cursor += 20
            scheme_end = data.index(b"\0", cursor)
            scheme = data[cursor:scheme_end].decode()
            value_end = data.index(b"\0", scheme_end + 1)
            value = data[scheme_end + 1:value_end].decode()
            message = data[value_end + 1:stop]
            found.append({"version": 1, "timescale": timescale, "presentation_time": presentation_time, "duration": duration,
                          "id": event_id, "scheme": scheme, "value": value, "message": message})
        else:
            found.append({"version": version})
    return found

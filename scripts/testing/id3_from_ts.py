#!/usr/bin/env python3
"""Reads the ID3 timed metadata out of an MPEG-TS segment without FFmpeg: walks the transport packets, finds the
PMT stream of type 0x15 (metadata), reassembles its PES packets, and parses each tag with `mutagen`.

Usage: id3_from_ts.py SEGMENT.ts — prints a JSON list of {"pts": 90 kHz, "frames": [{"id", "desc", "text"}]}.
"""
import io
import json
import sys

from mutagen.id3 import ID3


def packets(data):
    for offset in range(0, len(data) - 187, 188):
        packet = data[offset:offset + 188]
        if packet[0] != 0x47:
            raise SystemExit(f"lost sync at byte {offset}")
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        start = bool(packet[1] & 0x40)
        adaptation = (packet[3] >> 4) & 0x3
        payload = 4
        if adaptation & 0x2:
            payload += 1 + packet[4]
        if adaptation & 0x1:
            yield pid, start, packet[payload:]


def section(payload):
    pointer = payload[0]
    return payload[1 + pointer:]


def main(path):
    data = open(path, "rb").read()
    pmt_pid = None
    metadata_pid = None
    pes = {}
    tags = []
    for pid, start, payload in packets(data):
        if pid == 0 and start:
            table = section(payload)
            pmt_pid = ((table[10] & 0x1F) << 8) | table[11]
        elif pid == pmt_pid and start:
            table = section(payload)
            length = ((table[1] & 0x0F) << 8) | table[2]
            info = ((table[10] & 0x0F) << 8) | table[11]
            entry = 12 + info
            while entry < 3 + length - 4:
                stream_type = table[entry]
                es_pid = ((table[entry + 1] & 0x1F) << 8) | table[entry + 2]
                if stream_type == 0x15:
                    metadata_pid = es_pid
                entry += 5 + (((table[entry + 3] & 0x0F) << 8) | table[entry + 4])
        elif pid == metadata_pid:
            if start:
                if pes.get(pid):
                    tags.append(pes[pid])
                pes[pid] = bytearray(payload)
            elif pid in pes:
                pes[pid].extend(payload)
    if pes.get(metadata_pid):
        tags.append(pes[metadata_pid])
    out = []
    for packet in tags:
        assert packet[0:3] == b"\x00\x00\x01", "not a PES packet"
        flags = packet[7]
        header_length = packet[8]
        pts = None
        if flags & 0x80:
            p = packet[9:14]
            pts = ((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | (p[4] >> 1)
        body = bytes(packet[9 + header_length:])
        tag = ID3(io.BytesIO(body))
        frames = [{"id": f.FrameID, "desc": getattr(f, "desc", None), "text": str(f.text[0]) if hasattr(f, "text") else None}
                  for f in tag.values()]
        out.append({"pts": pts, "version": list(tag.version), "frames": frames})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])

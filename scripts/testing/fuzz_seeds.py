#!/usr/bin/env python3
"""Writes seed corpora for CueCast's fuzz targets from the fixtures, sharing no code with CueCast.

Usage: fuzz_seeds.py FIXTURES_DIR OUT_DIR   (writes OUT_DIR/<target>/seed-N for each target)

chunks and handshake come from recorded publishes (Fixtures/captures); flv-tags, codec-records and amf0 from the
FLV fixture's tags (sequence headers, frames, onMetaData); codec-records also from the HEVC fixture's hvcC and the
SPS fixtures; amf3, cue-json and hls-query from a few hand-written values. Selector bytes match FuzzTarget.swift.
"""
import os
import struct
import sys


def flv_tags(path):
    data = open(path, "rb").read()
    offset = struct.unpack(">I", data[5:9])[0] + 4
    while offset + 11 <= len(data):
        kind = data[offset]
        size = int.from_bytes(data[offset + 1:offset + 4], "big")
        body = data[offset + 11:offset + 11 + size]
        yield kind, body
        offset += 11 + size + 4


def main():
    fixtures, out = sys.argv[1], sys.argv[2]
    seeds = {t: [] for t in ["chunks", "handshake", "amf0", "amf3", "flv-tags", "codec-records", "cue-json", "hls-query"]}
    for capture in ["ffmpeg-publish.bin", "gstreamer-rtmp2sink-publish.bin"]:
        data = open(os.path.join(fixtures, "captures", capture), "rb").read()
        seeds["handshake"].append(data[:1537])
        # After C0+C1+C2: the chunk stream; a first byte of 0 keeps it in one read.
        seeds["chunks"].append(b"\x00" + data[3073:3073 + 8192])
        seeds["chunks"].append(data[3073:3073 + 65536])
    video = audio = 0
    for kind, body in flv_tags(os.path.join(fixtures, "bframes-h264-aac.flv")):
        if kind == 18:
            seeds["amf0"].append(body)
        elif kind == 9 and video < 12:
            seeds["flv-tags"].append(b"\x00" + body)
            if body[1] == 0:
                seeds["codec-records"].append(b"\x00" + body[5:])
            video += 1
        elif kind == 8 and audio < 6:
            seeds["flv-tags"].append(b"\x01" + body)
            if body[1] == 0:
                seeds["codec-records"].append(b"\x03" + body[2:])
            audio += 1
    mp4 = open(os.path.join(fixtures, "hevc-320x180.mp4"), "rb").read()
    at = mp4.find(b"hvcC")
    if at >= 4:
        size = struct.unpack(">I", mp4[at - 4:at])[0]
        seeds["codec-records"].append(b"\x01" + mp4[at + 4:at - 4 + size])
    for name in sorted(os.listdir(fixtures)):
        if name.startswith("sps-") and name.endswith(".h264"):
            nal = open(os.path.join(fixtures, name), "rb").read().lstrip(b"\x00")[1:]  # drop the start code
            seeds["codec-records"].append(b"\x04" + nal)
    seeds["amf3"] += [
        b"\x0a\x0b\x01\x09name\x06\x07abc\x0bwidth\x04\x82\x00\x01",  # a dynamic object
        b"\x09\x05\x01\x04\x01\x04\x02\x06\x00",  # an array with a string reference
        b"\x0c\x07\x01\x02\x03",  # a byte array
        b"\x08\x01" + struct.pack(">d", 1.8e12),  # a date
    ]
    seeds["cue-json"] += [
        b'{"kind":"product.pin","payload":{"sku":"A1","title":"Mug","price":"9.90"}}',
        b'{"kind":"coupon","payload":{"code":"SAVE10"},"duration":30,"id":"c-1"}',
        b'{"kind":"announcement","payload":{"text":"hi"},"at":"2027-01-15T08:00:00Z"}',
        b'{"kind":"lottery","payload":{}}',
    ]
    seeds["hls-query"] += [b"_HLS_msn=12&_HLS_part=3", b"_HLS_msn=4&_HLS_skip=v2", b"token=1800000000.b49a16e7b56d88c5336dbf2e8d7c503d"]
    for target, items in seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for i, item in enumerate(items):
            with open(os.path.join(out, target, f"seed-{i}"), "wb") as f:
                f.write(item)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()

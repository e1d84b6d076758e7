#!/usr/bin/env python3
"""Publishes an FLV file over RTMP the odd ways real encoders do, sharing no code with CueCast.

Usage: rtmp_publish.py FILE.flv rtmp://HOST:PORT/APP/STREAM?key=K [options]

Plain handshake, connect, releaseStream, FCPublish, createStream, publish; then the file's tags in real time, every
media message with a full (type 0) header and its continuation chunks as type 3. Options reproduce what encoders in
the wild send:

  --chunk-size N         chunk size for media (default 128: nearly every frame has continuation chunks)
  --start-ms N           add N ms to every timestamp (e.g. 16774215: three seconds below 0xFFFFFF)
  --omit-ext-continuation
                         leave the extended timestamp out of continuation chunks (librtmp, OBS before 2024)
  --amf3                 objectEncoding 3: commands after connect as type 17, metadata as a type 15 AMF3 object
  --burst-ms N           send publish, metadata, the sequence headers and the first N ms of tags in one write,
                         before the server answered
  --headers-late         the first GOP goes out without sequence headers; they follow right before the second
                         keyframe
  --cts-shift MS         every video frame's DTS MS later and its composition offset MS lower (PTS unchanged)
  --jump-at S --jump-by MS
                         from S seconds of media on, every timestamp MS larger (negative: smaller)
  --restart-at S         at S seconds the encoder restarts: the sequence headers again at timestamp 0, then the
                         file from its next keyframe with timestamps counting from 0
  --pause-at S --pause-for SECONDS
                         the tags from S seconds of media on go out SECONDS later (timestamps unchanged): the
                         connection stays open and quiet meanwhile, as when an encoder stalls

Prints {"status": first NetStream.Publish.* code, "sent": {"video", "audio"} frames sent, "closed" (the server closed
first), "error", "finished" (every tag went out)}.
"""
import argparse, json, os, selectors, struct, sys, time, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmark"))
from rtmp_play import Player, amf0_all, enc  # noqa: E402
from rtmpclient import read_flv_tags  # noqa: E402  (the bench's FLV file reader: (type, timestamp ms, body))


def is_header(ttype, body):
    return (ttype == 9 and len(body) > 1 and body[0] & 0x0F == 7 and body[1] == 0) or \
        (ttype == 8 and len(body) > 1 and body[0] >> 4 == 10 and body[1] == 0)


def is_frame(ttype, body):
    """A coded frame: not a sequence header, not AVC's end-of-sequence tag."""
    if ttype == 9 and len(body) > 1 and body[0] & 0x0F == 7:
        return body[1] == 1
    return not is_header(ttype, body)


def is_keyframe(ttype, body):
    return ttype == 9 and len(body) > 1 and body[0] >> 4 == 1 and body[1] == 1


def amf3_u29(n):
    n &= 0x1FFFFFFF
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([n >> 7 | 0x80, n & 0x7F])
    if n < 0x200000:
        return bytes([n >> 14 | 0x80, (n >> 7) & 0x7F | 0x80, n & 0x7F])
    return bytes([(n >> 22) | 0x80, (n >> 15) & 0x7F | 0x80, (n >> 8) & 0x7F | 0x80, n & 0xFF])


def amf3_string(s):
    raw = s.encode()
    return amf3_u29(len(raw) << 1 | 1) + raw


def amf3_object(props):
    """An anonymous dynamic object, as ActionScript 3's NetStream writes metadata."""
    out = b"\x0a\x0b" + amf3_string("")
    for key, value in props.items():
        out += amf3_string(key)
        if isinstance(value, bool):
            out += b"\x03" if value else b"\x02"
        elif isinstance(value, int):
            out += b"\x04" + amf3_u29(value)
        elif isinstance(value, float):
            out += b"\x05" + struct.pack(">d", value)
        else:
            out += b"\x06" + amf3_string(str(value))
    return out + b"\x01"


class Publisher(Player):
    def __init__(self, host, port, app, stream, tc_url, args):
        super().__init__(host, port, app, stream, tc_url, time.monotonic())
        self.args = args
        self.status = None
        self.publish_sent = False

    def command(self, csid, sid, *values):
        body = b"".join(enc(v) for v in values)
        if self.args.amf3 and values and values[0] != "connect":
            self.send_message(csid, 17, sid, b"\x00" + body)
        else:
            self.send_message(csid, 20, sid, body)

    def on_command(self, payload):
        values = amf0_all(payload)
        if not values:
            return
        name, tx = values[0], values[1] if len(values) > 1 else None
        args = values[2:]
        if name == "onStatus":
            info = next((v for v in args if isinstance(v, dict)), {})
            if self.status is None and str(info.get("code", "")).startswith("NetStream.Publish."):
                self.status = info.get("code")
        elif name == "_result" and tx == 1:
            self.command(3, 0, "releaseStream", 2, None, self.stream.split("?")[0])
            self.command(3, 0, "FCPublish", 3, None, self.stream.split("?")[0])
            self.command(3, 0, "createStream", 4, None)
        elif name == "_result" and tx == 4:
            self.stream_id = int(next(v for v in args if isinstance(v, (int, float)) and not isinstance(v, bool)))
            self.publish_sent = True

    def media(self, csid, mtype, ts, payload):
        """One message with a type 0 header; continuation chunks repeat the extended timestamp unless told not to."""
        ts &= 0xFFFFFFFF
        ext = ts >= 0xFFFFFF
        out = self.outbuf
        size = self.args.chunk_size
        for i in range(0, max(len(payload), 1), size):
            if i == 0:
                out += bytes([csid]) + (0xFFFFFF if ext else ts).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
                out += bytes([mtype]) + struct.pack("<I", self.stream_id)
                if ext:
                    out += struct.pack(">I", ts)
            else:
                out += bytes([0xC0 | csid])
                if ext and not self.args.omit_ext_continuation:
                    out += struct.pack(">I", ts)
            out += payload[i:i + size]


def schedule(tags, args):
    """(due ms, type, timestamp, body) in sending order, with the options' faults applied."""
    meta = [t for t in tags if t[0] == 18]
    media = [t for t in tags if t[0] in (8, 9)]
    headers = [t for t in media if is_header(t[0], t[2])]
    frames = [t for t in media if not is_header(t[0], t[2])]
    out = []
    keyframes = [ts for ttype, ts, body in frames if is_keyframe(ttype, body)]
    second_key = keyframes[1] if len(keyframes) > 1 else None
    if not args.headers_late:
        out += [(0, t, ts, b) for t, ts, b in headers]
    restarted = False
    for ttype, ts, body in frames:
        if args.headers_late and second_key is not None and ts == second_key and ttype == 9 and is_keyframe(ttype, body):
            out += [(ts, t, ts, b) for t, _, b in headers]
        out.append((ts, ttype, ts, body))
    if args.restart_at is not None:
        cut = args.restart_at * 1000
        again = [k for k in keyframes if k >= cut]
        if again:
            resume = again[0]
            before = [o for o in out if o[0] < cut]
            after = [(cut + (o[0] - resume), o[1], o[2] - resume, o[3]) for o in out if o[0] >= resume]
            out = before + [(cut, t, 0, b) for t, _, b in headers] + after
            restarted = True
    result = []
    for due, ttype, ts, body in out:
        if args.jump_at is not None and due >= args.jump_at * 1000:
            ts += args.jump_by
        if ttype == 9 and args.cts_shift and not is_header(ttype, body) and body[0] & 0x0F == 7:
            cts = int.from_bytes(body[2:5], "big", signed=True) - args.cts_shift
            body = body[:2] + cts.to_bytes(3, "big", signed=True) + body[5:]
            ts += args.cts_shift
        if args.pause_at is not None and due >= args.pause_at * 1000:
            due += args.pause_for * 1000
        result.append((due, ttype, ts + args.start_ms, body))
    return meta, result, restarted


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("url")
    parser.add_argument("--chunk-size", type=int, default=128)
    parser.add_argument("--start-ms", type=int, default=0)
    parser.add_argument("--omit-ext-continuation", action="store_true")
    parser.add_argument("--amf3", action="store_true")
    parser.add_argument("--burst-ms", type=int, default=None)
    parser.add_argument("--headers-late", action="store_true")
    parser.add_argument("--cts-shift", type=int, default=0)
    parser.add_argument("--jump-at", type=float, default=None)
    parser.add_argument("--jump-by", type=int, default=0)
    parser.add_argument("--restart-at", type=float, default=None)
    parser.add_argument("--pause-at", type=float, default=None)
    parser.add_argument("--pause-for", type=float, default=0)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    app, _, stream = url.path.lstrip("/").partition("/")
    if url.query:
        stream += "?" + url.query
    tc_url = "rtmp://%s/%s" % (url.netloc, app)
    meta, plan, _ = schedule(read_flv_tags(args.file), args)

    pub = Publisher(url.hostname, url.port or 1935, app, stream, tc_url, args)
    if args.amf3:
        # The player's connect goes out as soon as the handshake ends; objectEncoding 3 rides in its object.
        original = pub.send_message

        def send_message(csid, mtype, sid, payload, ts=0):
            if mtype == 20 and payload.startswith(enc("connect")):
                payload = payload[:-3] + struct.pack(">H", 14) + b"objectEncoding" + enc(3) + b"\x00\x00\x09"
            original(csid, mtype, sid, payload, ts)
        pub.send_message = send_message
    sel = selectors.DefaultSelector()
    sel.register(pub.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, pub)
    start = None
    index = 0
    sent = {"video": 0, "audio": 0}
    deadline = time.monotonic() + (plan[-1][0] if plan else 0) / 1000 + 20

    def send_tag(ttype, ts, body):
        pub.media(6 if ttype == 9 else 4, ttype, ts, body)
        if is_frame(ttype, body):
            sent["video" if ttype == 9 else "audio"] += 1

    while not pub.done and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=0.005):
            pub.on_event(bool(mask & selectors.EVENT_READ), bool(mask & selectors.EVENT_WRITE))
        if pub.done:
            break
        if pub.publish_sent and start is None:
            pub.send_message(2, 1, 0, struct.pack(">I", args.chunk_size))
            pub.out_chunk = args.chunk_size
            pub.command(8, pub.stream_id, "publish", 5, None, stream, "live")
            start = time.monotonic()
            for _, ts, body in meta:
                if args.amf3:
                    payload = b"\x00" + enc("@setDataFrame") + enc("onMetaData") + b"\x11" + amf3_object(
                        {"width": 320, "height": 180, "framerate": 30, "videocodecid": 7, "audiocodecid": 10,
                         "stereo": True, "encoder": "AS3 NetStream (rtmp_publish.py)"})
                    pub.send_message(4, 15, pub.stream_id, payload)
                else:
                    pub.send_message(4, 18, pub.stream_id, enc("@setDataFrame") + body)
            if args.burst_ms is not None:
                while index < len(plan) and plan[index][0] <= args.burst_ms:
                    send_tag(*plan[index][1:])
                    index += 1
            pub.flush()
        if start is not None and (pub.status is not None or args.burst_ms is not None):
            if pub.status is not None and pub.status != "NetStream.Publish.Start":
                break
            elapsed = (time.monotonic() - start) * 1000
            while index < len(plan) and plan[index][0] <= elapsed:
                send_tag(*plan[index][1:])
                index += 1
            pub.flush()
            if index >= len(plan) and not pub.outbuf:
                break
        sel.modify(pub.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if pub.outbuf or pub.state == "connecting" else 0), pub)
    closed = pub.closed
    if not closed and pub.stream_id is not None:
        pub.command(3, 0, "FCUnpublish", 6, None, stream.split("?")[0])
        pub.command(3, 0, "deleteStream", 7, None, pub.stream_id)
        pub.flush()
        time.sleep(0.2)
    pub.close()
    json.dump({"status": pub.status, "sent": sent, "closed": closed, "error": pub.error,
               "finished": index >= len(plan)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Plays an RTMP stream and prints what the server sent, as JSON, sharing no code with CueCast.

Usage: rtmp_play.py rtmp://HOST:PORT/APP/STREAM [--seconds N] [--until-status CODE ...] [--connections K]

One player (default): plain handshake, connect, createStream, play (start -2000) on chunk stream 8; Window
Acknowledgement Size honoured with Acknowledgements, User Control pings answered. Stops after --seconds (10), when
the server closes the connection, or once every --until-status code (repeatable) has been seen, in any order. Prints
{"statuses": [{"code", "level", "description", "time"}], "data": [{"name", "timestamp", "value", "values", "time"}],
"userControl": [{"type", "value", "time"}], "video": {"count", "frames": [[timestamp, keyframe, avcPacketType, cts]]},
"audio": {"count", "first", "last"}, "closed": bool, "error": str|null, "streamId", "bytes"}. "time" is seconds
since start; "value" is the first AMF0 value after the handler name, "values" all of them; video frames keep the
first 2000 (count counts all); avcPacketType and cts are null unless the codec id is 7 (AVC).

--connections K: K players at once on one selectors loop (leak tests). Each connects, plays, reads until its first
video message or 5 s (--seconds if given), then closes abruptly (RST). Prints {"connections", "started" (got NetStream.Play.Start),
"gotVideo", "closed" (closed by the server first), "errors" ({message: count}), "elapsed"}.
"""
import argparse, errno, json, os, resource, selectors, socket, struct, sys, time, urllib.parse

MAX_FRAMES = 2000
MULTI_PLAYER_SECONDS = 5.0


class AMFError(ValueError):
    pass


def amf0(data, i):
    """Decodes one AMF0 value at data[i:], returns (value, next index)."""
    try:
        marker = data[i]; i += 1
        if marker == 0x00:
            return struct.unpack_from(">d", data, i)[0], i + 8
        if marker == 0x01:
            return data[i] != 0, i + 1
        if marker == 0x02:
            n = struct.unpack_from(">H", data, i)[0]; i += 2
            _need(data, i + n)
            return bytes(data[i:i + n]).decode(errors="replace"), i + n
        if marker == 0x0C:
            n = struct.unpack_from(">I", data, i)[0]; i += 4
            _need(data, i + n)
            return bytes(data[i:i + n]).decode(errors="replace"), i + n
        if marker in (0x03, 0x08, 0x10):
            if marker == 0x08:
                i += 4  # ECMA array count hint; the end marker is what counts
            elif marker == 0x10:
                n = struct.unpack_from(">H", data, i)[0]; i += 2 + n  # typed object: class name
            obj = {}
            while True:
                n = struct.unpack_from(">H", data, i)[0]; i += 2
                if n == 0 and data[i] == 0x09:
                    return obj, i + 1
                _need(data, i + n)
                key = bytes(data[i:i + n]).decode(errors="replace"); i += n
                obj[key], i = amf0(data, i)
        if marker in (0x05, 0x06):
            return None, i
        if marker == 0x0A:
            n = struct.unpack_from(">I", data, i)[0]; i += 4
            items = []
            for _ in range(n):
                v, i = amf0(data, i); items.append(v)
            return items, i
        if marker == 0x0B:  # date: ms since epoch + time zone
            return struct.unpack_from(">d", data, i)[0], i + 10
        if marker == 0x07:  # reference
            return {"$ref": struct.unpack_from(">H", data, i)[0]}, i + 2
    except (IndexError, struct.error) as e:
        raise AMFError("AMF0 truncated at %d (%s)" % (i, e))
    raise AMFError("AMF0 marker 0x%02x at %d" % (marker, i - 1))


def _need(data, end):
    if end > len(data):
        raise IndexError("need %d bytes, have %d" % (end, len(data)))


def amf0_all(data):
    values, i = [], 0
    while i < len(data):
        v, i = amf0(data, i)
        values.append(v)
    return values


def enc(value):
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return (b"\x02" + struct.pack(">H", len(raw)) if len(raw) < 65536 else b"\x0c" + struct.pack(">I", len(raw))) + raw
    if isinstance(value, dict):
        out = b"\x03"
        for k, v in value.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + enc(v)
        return out + b"\x00\x00\x09"
    raise TypeError(type(value))


class ChunkStream:
    __slots__ = ("ts", "delta", "length", "type", "sid", "ext", "ext_value", "payload")

    def __init__(self):
        self.ts = self.delta = self.length = self.type = self.sid = 0
        self.ext = False
        self.ext_value = 0
        self.payload = None  # bytearray while a message is partly received


class ProtocolError(Exception):
    pass


class Player:
    def __init__(self, host, port, app, stream, tc_url, t0, until=(), multi=False):
        self.host, self.port, self.app, self.stream, self.tc_url = host, port, app, stream, tc_url
        self.t0 = t0
        self.started_at = time.monotonic()
        self.until = set(until)
        self.multi = multi
        self.state = "connecting"
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.rx = 0
        self.last_ack = 0
        self.window = 0
        self.in_chunk = 128
        self.out_chunk = 128
        self.chunk_streams = {}
        self.stream_id = None
        self.statuses, self.data, self.user_control, self.frames = [], [], [], []
        self.seen = set()
        self.video_count = self.audio_count = 0
        self.audio_first = self.audio_last = None
        self.closed = False
        self.error = None
        self.done = False
        self.want_write = True
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
        self.outbuf += b"\x03" + c1
        rc = self.sock.connect_ex((host, port))
        if rc not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self.fail("connect: " + os.strerror(rc))

    # --- helpers -------------------------------------------------------------------------------------------------
    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def fail(self, message):
        if self.error is None:
            self.error = message
        self.done = True

    def send_message(self, csid, mtype, sid, payload, ts=0):
        out = self.outbuf
        first = True
        for i in range(0, max(len(payload), 1), self.out_chunk):
            if first:
                out += bytes([csid]) + (ts & 0xFFFFFF).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
                out += bytes([mtype]) + struct.pack("<I", sid)
                first = False
            else:
                out += bytes([0xC0 | csid])
            out += payload[i:i + self.out_chunk]

    def command(self, csid, sid, *values):
        self.send_message(csid, 20, sid, b"".join(enc(v) for v in values))

    # --- socket events -------------------------------------------------------------------------------------------
    def on_event(self, readable, writable):
        if self.state == "connecting":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail("connect: " + os.strerror(err))
                return
            if not (readable or writable):
                return
            self.state = "handshake"
        if writable or self.outbuf:
            self.flush()
        if readable and not self.done:
            self.read()

    def flush(self):
        while self.outbuf and not self.done:
            try:
                n = self.sock.send(self.outbuf)
            except (BlockingIOError, InterruptedError):
                return
            except (ConnectionResetError, BrokenPipeError):
                self.closed = True
                self.done = True
                return
            except OSError as e:
                self.fail("send: %s" % e)
                return
            del self.outbuf[:n]

    def read(self):
        for _ in range(16):  # bounded per event so one busy player cannot starve the others
            try:
                chunk = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionResetError:
                self.closed = True
                self.done = True
                return
            except OSError as e:
                self.fail("recv: %s" % e)
                return
            if not chunk:
                self.closed = True
                self.done = True
                break
            self.rx += len(chunk)
            self.inbuf += chunk
            try:
                self.process()
            except ProtocolError as e:
                self.fail(str(e))
            if self.done:
                break
            if len(chunk) < 262144:
                break
        if self.window and self.rx - self.last_ack >= self.window and not self.done:
            self.last_ack = self.rx
            self.send_message(2, 3, 0, struct.pack(">I", self.rx & 0xFFFFFFFF))
        if self.outbuf:
            self.flush()

    # --- protocol ------------------------------------------------------------------------------------------------
    def process(self):
        if self.state == "handshake":
            if len(self.inbuf) < 1 + 1536 + 1536:
                return
            if self.inbuf[0] != 3:
                raise ProtocolError("handshake: S0 version %d" % self.inbuf[0])
            s1 = bytes(self.inbuf[1:1537])
            del self.inbuf[:3073]
            self.outbuf += s1  # C2
            self.state = "rtmp"
            self.send_message(2, 1, 0, struct.pack(">I", 4096))
            self.out_chunk = 4096
            self.command(3, 0, "connect", 1, {
                "app": self.app, "flashVer": "LNX 9,0,124,2", "tcUrl": self.tc_url, "fpad": False,
                "capabilities": 15, "audioCodecs": 4071, "videoCodecs": 252, "videoFunction": 1})
        if self.state == "rtmp":
            self.parse_chunks()

    def parse_chunks(self):
        buf = self.inbuf
        n = len(buf)
        pos = 0
        try:
            while not self.done:
                if pos >= n:
                    break
                b0 = buf[pos]
                fmt = b0 >> 6
                csid = b0 & 0x3F
                p = pos + 1
                if csid == 0:
                    if n - p < 1:
                        break
                    csid = 64 + buf[p]; p += 1
                elif csid == 1:
                    if n - p < 2:
                        break
                    csid = 64 + buf[p] + buf[p + 1] * 256; p += 2
                st = self.chunk_streams.get(csid)
                if st is None:
                    if fmt != 0:
                        raise ProtocolError("chunk stream %d starts with a type %d header" % (csid, fmt))
                    st = self.chunk_streams[csid] = ChunkStream()
                mh = (11, 7, 3, 0)[fmt]
                if n - p < mh:
                    break
                tsf = length = mtype = sid = None
                if fmt <= 2:
                    tsf = int.from_bytes(buf[p:p + 3], "big")
                if fmt <= 1:
                    length = int.from_bytes(buf[p + 3:p + 6], "big")
                    mtype = buf[p + 6]
                if fmt == 0:
                    sid = struct.unpack_from("<I", buf, p + 7)[0]
                p += mh
                new_message = fmt <= 2 or st.payload is None
                if fmt <= 2:
                    ext = tsf == 0xFFFFFF
                else:
                    ext = st.ext
                ext_value = None
                if ext:
                    if n - p < 4:
                        break
                    value = int.from_bytes(buf[p:p + 4], "big")
                    if fmt == 3 and not new_message and value != st.ext_value:
                        pass  # a sender that leaves the extended timestamp out of continuation chunks
                    else:
                        ext_value = value
                        p += 4
                msg_length = length if length is not None else st.length
                received = 0 if new_message else len(st.payload)
                size = min(self.in_chunk, msg_length - received)
                if n - p < size:
                    break
                # the whole chunk is here: commit it
                if fmt <= 2:
                    field = ext_value if ext else tsf
                    if fmt == 0:
                        st.ts = field
                        st.sid = sid
                    else:
                        st.ts = (st.ts + field) & 0xFFFFFFFF
                    st.delta = field
                    if fmt <= 1:
                        st.length = length
                        st.type = mtype
                    st.ext = ext
                    if ext:
                        st.ext_value = ext_value
                    st.payload = bytearray()  # a new header abandons any partial message
                elif new_message:
                    st.ts = (st.ts + st.delta) & 0xFFFFFFFF
                    st.payload = bytearray()
                st.payload += buf[p:p + size]
                pos = p + size
                if len(st.payload) >= st.length:
                    payload = bytes(st.payload)
                    st.payload = None
                    self.on_message(st.type, st.sid, st.ts, payload)
        finally:
            del buf[:pos]

    def on_message(self, mtype, sid, ts, payload):
        if mtype == 1:
            if len(payload) >= 4:
                self.in_chunk = max(1, struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF)
        elif mtype == 2:
            if len(payload) >= 4:
                st = self.chunk_streams.get(struct.unpack(">I", payload[:4])[0])
                if st is not None:
                    st.payload = None
        elif mtype == 3:
            pass
        elif mtype == 4:
            self.on_user_control(payload)
        elif mtype == 5:
            if len(payload) >= 4:
                self.window = struct.unpack(">I", payload[:4])[0]
        elif mtype == 6:
            pass
        elif mtype == 8:
            self.audio_count += 1
            if self.audio_first is None:
                self.audio_first = ts
            self.audio_last = ts
        elif mtype == 9:
            self.on_video(ts, payload)
        elif mtype in (18, 15):
            self.on_data(ts, payload[1:] if mtype == 15 else payload)
        elif mtype in (20, 17):
            self.on_command(payload[1:] if mtype == 17 else payload)
        elif mtype == 22:
            self.on_aggregate(sid, ts, payload)

    def on_aggregate(self, sid, ts, payload):
        i, base = 0, None
        while i + 11 <= len(payload):
            kind = payload[i]
            size = int.from_bytes(payload[i + 1:i + 4], "big")
            sub_ts = int.from_bytes(payload[i + 4:i + 7], "big") | payload[i + 7] << 24
            if i + 11 + size > len(payload):
                break
            if base is None:
                base = sub_ts
            self.on_message(kind, sid, (ts + sub_ts - base) & 0xFFFFFFFF, payload[i + 11:i + 11 + size])
            i += 11 + size + 4

    def on_user_control(self, payload):
        if len(payload) < 2:
            return
        event = struct.unpack(">H", payload[:2])[0]
        value = struct.unpack(">I", payload[2:6])[0] if len(payload) >= 6 else None
        entry = {"type": event, "value": value, "time": self.now()}
        if event == 3 and len(payload) >= 10:
            entry["bufferLength"] = struct.unpack(">I", payload[6:10])[0]
        self.user_control.append(entry)
        if event == 6:
            self.send_message(2, 4, 0, struct.pack(">H", 7) + payload[2:6])

    def on_video(self, ts, payload):
        self.video_count += 1
        if len(self.frames) < MAX_FRAMES:
            keyframe = bool(payload) and payload[0] >> 4 == 1
            packet_type = cts = None
            if payload and payload[0] & 0x0F == 7 and len(payload) >= 5:
                packet_type = payload[1]
                cts = int.from_bytes(payload[2:5], "big")
                if cts & 0x800000:
                    cts -= 1 << 24
            self.frames.append([ts, keyframe, packet_type, cts])
        if self.multi:
            self.done = True

    def on_data(self, ts, payload):
        entry = {"name": None, "timestamp": ts, "value": None, "values": [], "time": self.now()}
        try:
            values = amf0_all(payload)
        except AMFError as e:
            entry["error"] = str(e)
            if self.error is None:
                self.error = "data message at %d: %s" % (ts, e)
            values = []
        if values:
            entry["name"] = values[0]
            entry["values"] = values[1:]
            entry["value"] = values[1] if len(values) > 1 else None
        self.data.append(entry)

    def on_command(self, payload):
        try:
            values = amf0_all(payload)
        except AMFError as e:
            raise ProtocolError("command message: %s" % e)
        if not values:
            return
        name = values[0]
        tx = values[1] if len(values) > 1 else None
        args = values[2:]
        if name == "onStatus":
            info = next((v for v in args if isinstance(v, dict)), {})
            code = info.get("code")
            self.statuses.append({"code": code, "level": info.get("level"), "description": info.get("description"),
                                  "time": self.now()})
            self.seen.add(code)
            if self.until and self.until <= self.seen:
                self.done = True
        elif name == "_result" and tx == 1:
            self.command(3, 0, "createStream", 2, None)
        elif name == "_result" and tx == 2:
            sid = next((v for v in args if isinstance(v, (int, float)) and not isinstance(v, bool)), None)
            if sid is None:
                raise ProtocolError("createStream _result without a stream id: %r" % (values,))
            self.stream_id = int(sid)
            self.command(8, self.stream_id, "play", 0, None, self.stream, -2000)
        elif name == "_error" and tx in (1, 2):
            info = next((v for v in args if isinstance(v, dict)), {})
            self.fail("%s refused: %s %s" % ("connect" if tx == 1 else "createStream", info.get("code"),
                                             info.get("description")))

    def close(self, abort=False):
        try:
            if abort:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass

    def report(self):
        return {"statuses": self.statuses, "data": self.data, "userControl": self.user_control,
                "video": {"count": self.video_count, "frames": self.frames},
                "audio": {"count": self.audio_count, "first": self.audio_first, "last": self.audio_last},
                "closed": self.closed, "error": self.error, "streamId": self.stream_id, "bytes": self.rx}


def run(players, sel, deadline, per_player=None):
    """One selectors loop over all players until each is done or the deadline passes."""
    live = {}
    for pl in players:
        if pl.done:
            continue
        sel.register(pl.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, pl)
        live[pl.sock.fileno()] = pl
    last_sweep = time.monotonic()
    while live:
        now = time.monotonic()
        if now >= deadline:
            break
        for key, mask in sel.select(timeout=min(0.1, deadline - now)):
            pl = key.data
            pl.on_event(bool(mask & selectors.EVENT_READ), bool(mask & selectors.EVENT_WRITE))
            if pl.done:
                sel.unregister(pl.sock)
                live.pop(pl.sock.fileno(), None)
                if per_player is not None:
                    pl.close(abort=True)
                continue
            want_write = pl.state == "connecting" or bool(pl.outbuf)
            if want_write != pl.want_write:
                pl.want_write = want_write
                sel.modify(pl.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0), pl)
        now = time.monotonic()
        if per_player is not None and now - last_sweep >= 0.1:
            last_sweep = now
            for fd, pl in list(live.items()):
                if now - pl.started_at >= per_player:
                    sel.unregister(pl.sock)
                    del live[fd]
                    pl.close(abort=True)
    for pl in live.values():
        sel.unregister(pl.sock)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--until-status", action="append", default=[])
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "rtmp" or not url.hostname:
        parser.error("expected rtmp://HOST[:PORT]/APP/STREAM")
    path = url.path.lstrip("/")
    app, _, stream = path.partition("/")
    if url.query:
        stream += "?" + url.query
    host, port = url.hostname, url.port or 1935
    tc_url = "rtmp://%s/%s" % (url.netloc, app)
    t0 = time.monotonic()

    args.seconds_given = "--seconds" in sys.argv[1:]
    if args.connections <= 1:
        sel = selectors.DefaultSelector()
        player = Player(host, port, app, stream, tc_url, t0, until=args.until_status)
        run([player], sel, t0 + args.seconds)
        player.close()
        json.dump(player.report(), sys.stdout)
        sys.stdout.write("\n")
        return

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    sel = selectors.DefaultSelector()
    players = []
    errors = {}
    for _ in range(args.connections):
        try:
            players.append(Player(host, port, app, stream, tc_url, t0, multi=True))
        except OSError as e:
            errors["socket: %s" % e.strerror] = errors.get("socket: %s" % e.strerror, 0) + 1
    # each player stops after its first video or --seconds (default MULTI_PLAYER_SECONDS); the loop is bounded too
    wait = args.seconds if args.seconds_given else MULTI_PLAYER_SECONDS
    run(players, sel, time.monotonic() + wait + 5, per_player=wait)
    for pl in players:
        pl.close(abort=True)
        if pl.error:
            errors[pl.error] = errors.get(pl.error, 0) + 1
    json.dump({"connections": args.connections,
               "started": sum(1 for pl in players if "NetStream.Play.Start" in pl.seen),
               "gotVideo": sum(1 for pl in players if pl.video_count > 0),
               "closed": sum(1 for pl in players if pl.closed),
               "errors": errors,
               "elapsed": round(time.monotonic() - t0, 3)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

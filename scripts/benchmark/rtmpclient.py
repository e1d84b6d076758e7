"""A small RTMP and HTTP-FLV client for the benchmark, written from the RTMP 1.0 and FLV 10 specifications and
sharing no code with CueCast: enough to publish a clip's tags at real time (noting when each video message was
sent), to play a stream, and to read each video message's timestamp as it arrives.

Readers are plain objects driven by one epoll loop (`run_readers`), so a single client core can hold a thousand:
each does a plain handshake, connect, createStream and play (or one HTTP GET), then either counts the bytes it
receives (cheap) or parses chunks / FLV tags to time video messages. Only 127.0.0.1 is ever dialled.
"""
import errno
import os
import select
import socket
import struct
import time

HOST = "127.0.0.1"
HANDSHAKE_SIZE = 1536
# Message types (RTMP 1.0, section 5.4 and 7.1).
SET_CHUNK_SIZE, ACKNOWLEDGEMENT, USER_CONTROL, WINDOW_ACK_SIZE, SET_PEER_BANDWIDTH = 1, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF0, COMMAND_AMF0 = 8, 9, 18, 20


# --- AMF0 -------------------------------------------------------------------------------------------------------

def amf_encode(value):
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        data = value.encode()
        return b"\x02" + struct.pack(">H", len(data)) + data
    if value is None:
        return b"\x05"
    if isinstance(value, dict):
        out = bytearray(b"\x03")
        for key, item in value.items():
            data = key.encode()
            out += struct.pack(">H", len(data)) + data + amf_encode(item)
        return bytes(out + b"\x00\x00\x09")
    raise TypeError(f"AMF0: cannot encode {type(value)}")


def amf_decode(data, at=0):
    """(value, next offset). Enough of AMF0 for command answers and onStatus; other markers end the parse."""
    marker = data[at]
    at += 1
    if marker == 0x00:
        return struct.unpack_from(">d", data, at)[0], at + 8
    if marker == 0x01:
        return data[at] != 0, at + 1
    if marker == 0x02:
        length = struct.unpack_from(">H", data, at)[0]
        return bytes(data[at + 2:at + 2 + length]).decode(errors="replace"), at + 2 + length
    if marker == 0x0C:
        length = struct.unpack_from(">I", data, at)[0]
        return bytes(data[at + 4:at + 4 + length]).decode(errors="replace"), at + 4 + length
    if marker in (0x05, 0x06):
        return None, at
    if marker in (0x03, 0x08):
        if marker == 0x08:
            at += 4  # ECMA array count, not to be trusted
        result = {}
        for _ in range(10000):
            length = struct.unpack_from(">H", data, at)[0]
            at += 2
            if length == 0 and data[at] == 0x09:
                return result, at + 1
            key = bytes(data[at:at + length]).decode(errors="replace")
            result[key], at = amf_decode(data, at + length)
        raise ValueError("AMF0 object too long")
    if marker == 0x0A:
        count = struct.unpack_from(">I", data, at)[0]
        items, at = [], at + 4
        for _ in range(min(count, 10000)):
            item, at = amf_decode(data, at)
            items.append(item)
        return items, at
    if marker == 0x0B:
        return struct.unpack_from(">d", data, at)[0], at + 10
    raise ValueError(f"AMF0 marker {marker} not handled")


def amf_decode_all(data):
    values, at = [], 0
    try:
        while at < len(data):
            value, at = amf_decode(data, at)
            values.append(value)
    except (ValueError, IndexError, struct.error):
        pass
    return values


# --- Chunk stream -----------------------------------------------------------------------------------------------

def chunk_message(csid, message_type, stream_id, timestamp, payload, chunk_size):
    """One message as chunks: a type 0 header, then type 3 headers between pieces (csid < 64)."""
    timestamp &= 0xFFFFFFFF
    extended = timestamp >= 0xFFFFFF
    header = bytes([csid]) + (b"\xff\xff\xff" if extended else timestamp.to_bytes(3, "big")) + len(payload).to_bytes(3, "big") \
        + bytes([message_type]) + struct.pack("<I", stream_id)
    ext = struct.pack(">I", timestamp) if extended else b""
    out = bytearray(header + ext + payload[:chunk_size])
    for at in range(chunk_size, len(payload), chunk_size):
        out += bytes([0xC0 | csid]) + ext + payload[at:at + chunk_size]
    return bytes(out)


def stream_id_of(answer):
    """The message stream id in createStream's _result (name, transaction, command object, id); 1 if absent."""
    numbers = [v for v in answer[2:] if isinstance(v, float)]
    return int(numbers[-1]) if numbers else 1


def command(name, transaction, *args):
    return amf_encode(name) + amf_encode(float(transaction)) + b"".join(amf_encode(a) for a in args)


class ChunkParser:
    """Reassembles messages from a chunk stream (RTMP 1.0 section 5.3). feed() takes bytes and returns the
    complete messages as (type, stream id, timestamp, payload). Set Chunk Size from the peer applies at once."""

    def __init__(self):
        self.chunk_size = 128
        self.buffer = bytearray()
        self.streams = {}  # csid -> [timestamp, length, type, stream id, delta, extended, payload or None]

    def feed(self, data):
        self.buffer += data
        messages, buf, at = [], self.buffer, 0
        size = len(buf)
        while at < size:
            start = at
            first = buf[at]
            fmt, csid = first >> 6, first & 0x3F
            at += 1
            if csid == 0:
                if at + 1 > size:
                    break
                csid, at = 64 + buf[at], at + 1
            elif csid == 1:
                if at + 2 > size:
                    break
                csid, at = 64 + buf[at] + buf[at + 1] * 256, at + 2
            state = self.streams.get(csid)
            header_size = (11, 7, 3, 0)[fmt]
            if at + header_size > size:
                at = start
                break
            if state is None:
                if fmt != 0:
                    raise ValueError(f"chunk stream {csid} starts without a full header")
                state = self.streams[csid] = [0, 0, 0, 0, 0, False, None]
            new_message = state[6] is None
            if fmt <= 2:
                stamp = int.from_bytes(buf[at:at + 3], "big")
                if fmt <= 1:
                    state[1] = int.from_bytes(buf[at + 3:at + 6], "big")
                    state[2] = buf[at + 6]
                if fmt == 0:
                    state[3] = struct.unpack_from("<I", buf, at + 7)[0]
                at += header_size
                state[5] = stamp == 0xFFFFFF
                if state[5]:
                    if at + 4 > size:
                        at = start
                        break
                    stamp = struct.unpack_from(">I", buf, at)[0]
                    at += 4
                if fmt == 0:
                    state[0], state[4] = stamp, 0
                else:
                    state[4] = stamp
                    state[0] = (state[0] + stamp) & 0xFFFFFFFF
            else:
                if state[5]:
                    if at + 4 > size:
                        at = start
                        break
                    at += 4  # the extended timestamp repeated on a continuation or a type 3 message
                if new_message:
                    state[0] = (state[0] + state[4]) & 0xFFFFFFFF
            have = 0 if new_message else len(state[6])
            piece = min(self.chunk_size, state[1] - have)
            if at + piece > size:
                # The header was read: undo what it changed, and wait for the rest of the chunk.
                if new_message and fmt != 0:
                    state[0] = (state[0] - state[4]) & 0xFFFFFFFF
                at = start
                break
            if new_message:
                state[6] = bytearray()
            state[6] += buf[at:at + piece]
            at += piece
            if len(state[6]) >= state[1]:
                payload, state[6] = bytes(state[6]), None
                if state[2] == SET_CHUNK_SIZE and len(payload) >= 4:
                    self.chunk_size = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                messages.append((state[2], state[3], state[0], payload))
        del buf[:at]
        return messages


def read_flv_tags(path):
    """[(tag type, timestamp ms, body)] of an FLV file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"FLV":
        raise ValueError(f"{path}: not an FLV file")
    at = struct.unpack(">I", data[5:9])[0] + 4
    tags = []
    while at + 11 <= len(data):
        kind = data[at] & 0x1F
        size = int.from_bytes(data[at + 1:at + 4], "big")
        stamp = int.from_bytes(data[at + 4:at + 7], "big") | (data[at + 7] << 24)
        body = data[at + 11:at + 11 + size]
        if len(body) < size:
            break
        tags.append((kind, stamp, body))
        at += 11 + size + 4
    return tags


def is_video_frame(payload):
    """A video message that is a frame (not an AVC/HEVC sequence header nor an end of sequence)."""
    if len(payload) < 2:
        return False
    if payload[0] & 0x80:  # Enhanced RTMP: packet type in the low nibble, 0 = sequence start
        return payload[0] & 0x0F in (1, 3)
    return payload[1] == 1 if payload[0] & 0x0F in (7, 12) else True


def is_keyframe(payload):
    """A video frame that is a keyframe (FLV frame type 1, in the high nibble, legacy and Enhanced RTMP alike)."""
    return is_video_frame(payload) and (payload[0] >> 4) & 0x07 == 1


def is_sequence_header(kind, payload):
    if kind == VIDEO:
        return len(payload) >= 2 and not is_video_frame(payload)
    # AAC (sound format 10) packet type 0 is the AudioSpecificConfig.
    return kind == AUDIO and len(payload) >= 2 and payload[0] >> 4 == 10 and payload[1] == 0


# --- Blocking handshake and commands (the publisher) ------------------------------------------------------------

def _receive_exact(sock, count, deadline):
    data = bytearray()
    while len(data) < count:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        piece = sock.recv(count - len(data))
        if not piece:
            raise ConnectionError("closed during the handshake")
        data += piece
    return bytes(data)


class Publisher:
    """Publishes an FLV file's tags over RTMP at real time, looping with timestamps carried on, and notes when
    each video frame's send began (on loopback its last byte reaches the server before sendall returns).
    Blocking socket; incoming data (acknowledgements, pings) is read and dropped between sends."""

    CHUNK_SIZE = 4096

    def __init__(self, port, app, name, tags):
        self.port, self.app, self.name = port, app, name
        self.tags = tags
        self.sock = None        # until connect()
        self.sent = {}          # video timestamp (32-bit) -> monotonic send time
        self.sent_pts = {}      # video presentation time (timestamp + composition offset, 32-bit) -> send time
        self.bytes_sent = 0
        self.parser = ChunkParser()

    def _await(self, want, deadline):
        """Reads messages until a command named in `want` arrives; returns its decoded values."""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for kind, _, _, payload in self.parser.feed(data):
                if kind != COMMAND_AMF0:
                    continue
                values = amf_decode_all(payload)
                if not values:
                    continue
                refused = values[0] == "_error" or (values[0] == "onStatus" and len(values) > 3 and isinstance(values[3], dict)
                                                    and values[3].get("level") == "error")
                if refused:
                    raise ConnectionError(f"refused: {values}")
                if want(values):
                    return values
        raise TimeoutError("no answer from the server")

    def connect(self, timeout=10):
        deadline = time.monotonic() + timeout
        self.sock = socket.create_connection((HOST, self.port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c1 = bytes(8) + os.urandom(HANDSHAKE_SIZE - 8)
        self.sock.sendall(b"\x03" + c1)
        s0s1 = _receive_exact(self.sock, 1 + HANDSHAKE_SIZE, deadline)
        self.sock.sendall(s0s1[1:])                      # C2 echoes S1
        _receive_exact(self.sock, HANDSHAKE_SIZE, deadline)  # S2
        self.send(2, SET_CHUNK_SIZE, 0, 0, struct.pack(">I", self.CHUNK_SIZE))
        self.chunk_size = self.CHUNK_SIZE
        tc_url = f"rtmp://{HOST}:{self.port}/{self.app}"
        self.send(3, COMMAND_AMF0, 0, 0, command("connect", 1, {"app": self.app, "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; bench)",
                                                                 "tcUrl": tc_url}))
        self._await(lambda v: v[0] == "_result" and v[1] == 1, deadline)
        self.send(3, COMMAND_AMF0, 0, 0, command("createStream", 2, None))
        answer = self._await(lambda v: v[0] == "_result" and v[1] == 2, deadline)
        self.stream_id = stream_id_of(answer)
        self.send(4, COMMAND_AMF0, self.stream_id, 0, command("publish", 3, None, self.name, "live"))
        self._await(lambda v: v[0] == "onStatus" and len(v) > 3 and isinstance(v[3], dict)
                    and v[3].get("code") == "NetStream.Publish.Start", deadline)

    def send(self, csid, kind, stream_id, timestamp, payload):
        data = chunk_message(csid, kind, stream_id, timestamp, payload, getattr(self, "chunk_size", 128))
        self.sock.sendall(data)
        self.bytes_sent += len(data)

    def send_tag(self, kind, stamp, body):
        """One of the clip's tags as its RTMP message (metadata as `@setDataFrame`, which has no timestamp)."""
        if kind == DATA_AMF0:
            self.send(5, DATA_AMF0, self.stream_id, 0, amf_encode("@setDataFrame") + body)
        elif kind == AUDIO:
            self.send(4, AUDIO, self.stream_id, stamp, body)
        elif kind == VIDEO:
            self.send(6, VIDEO, self.stream_id, stamp, body)

    def _drain(self, wait):
        """Waits up to `wait` s, reading (and dropping) what the server sends."""
        readable, _, _ = select.select([self.sock], [], [], max(0.0, wait))
        if readable:
            self.sock.setblocking(False)
            try:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
            except BlockingIOError:
                pass
            finally:
                self.sock.setblocking(True)

    def run(self, duration, stop=None):
        """Sends the tags at real time for `duration` s (or until `stop`, a multiprocessing Event, is set)."""
        self.sock.settimeout(None)
        for kind, stamp, body in scheduled_tags(self.tags, duration, stop, lambda wait: self._drain(wait)):
            if kind == VIDEO and is_video_frame(body):
                # Noted as the send starts: on loopback the last byte reaches the server during sendall,
                # and a reader's clock must not run ahead of this one.
                self.sent[stamp] = time.monotonic()
                # AVC video tags carry a signed 24-bit composition offset after the packet type.
                cts = int.from_bytes(body[2:5], "big", signed=True) if len(body) >= 5 else 0
                self.sent_pts[(stamp + cts) & 0xFFFFFFFF] = self.sent[stamp]
            self.send_tag(kind, stamp, body)

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.close()
        except OSError:
            pass


def scheduled_tags(tags, duration, stop, wait):
    """The clip's tags at real time, looped, as (kind, 32-bit timestamp, body), each yielded at its time, for
    `duration` s or until `stop` is set; metadata and sequence headers only the first time round. `wait(seconds)`
    is called while a tag is not due yet (at most 50 ms at a time)."""
    video_stamps = [s for k, s, b in tags if k == VIDEO and is_video_frame(b)]
    step = (video_stamps[-1] - video_stamps[0]) / max(1, len(video_stamps) - 1) if len(video_stamps) > 1 else 33
    length = (video_stamps[-1] + step) if video_stamps else max(s for _, s, _ in tags) + 33
    started = time.monotonic()
    end = started + duration
    for loop in range(100000):
        offset = round(loop * length)
        for kind, stamp, body in tags:
            if loop and (kind == DATA_AMF0 or is_sequence_header(kind, body)):
                continue  # metadata and sequence headers go once
            when = started + (stamp + offset) / 1000
            while True:
                now = time.monotonic()
                if now >= end or (stop is not None and stop.is_set()):
                    return
                if now >= when:
                    break
                wait(min(when - now, 0.05))
            yield kind, (stamp + offset) & 0xFFFFFFFF, body


def _drain_all(publishers):
    """A `wait(seconds)` for `scheduled_tags` that reads (and drops) what any of the servers sends meanwhile."""
    def wait(seconds):
        readable, _, _ = select.select([p.sock for p in publishers], [], [], seconds)
        for publisher in publishers:
            if publisher.sock in readable:
                publisher._drain(0)
    return wait


def run_in_turns(publishers, warmup, order, turn_seconds, settle, cpu_of, on_turns, duration, stop=None):
    """Feeds several connected publishers' servers one at a time, so that each runs alone on its core in its
    turn. First every server gets every message for `warmup` s, so that each stream is live and its pushes
    connected; then turn k feeds only publisher `order[k]` for about `turn_seconds`; then every server again until
    `duration` s or `stop`. Fed together, each message goes to every server within tens of microseconds, the
    order turning with each message.

    Turns change on a video keyframe, so each server is fed whole GOPs, and a server's timestamps go on from
    where its last turn stopped (the clip time it missed is taken off), so it sees one unbroken stream that
    pauses. Each turn is measured from its first keyframe at least `settle` s after it starts to its end (the
    next turn's first keyframe), whole GOPs, on the server's CPU clock (`cpu_of(i)`, s): a server may adapt to a
    pause (CueCast drops its receive low watermark after a second without bytes and sets it again a second or two
    after they come back), and the turn's measured part is its steady state with keyframes at their real rate.
    When the turns are over, `on_turns` gets [{"who": i, "cpuSeconds", "seconds"}] in order."""
    for publisher in publishers:
        publisher.sock.settimeout(None)
    everyone = list(range(len(publishers)))
    feeding = everyone
    skipped = [0] * len(publishers)         # clip ms each server has not been sent
    paused_at = [None] * len(publishers)    # the raw timestamp each server stopped at
    turn, turn_started, measuring = -1, None, None   # measuring: (start time, start reading) of this turn
    turns = []
    begun = time.monotonic()
    for n, (kind, stamp, body) in enumerate(scheduled_tags(publishers[0].tags, duration, stop, _drain_all(publishers))):
        now = time.monotonic()
        keyframe = kind == VIDEO and is_keyframe(body)
        if keyframe and turn < len(order):
            due = (now - begun >= warmup) if turn < 0 else (now - turn_started >= turn_seconds - 0.25)
            if not due and 0 <= turn and measuring is None and now - turn_started >= settle - 0.25:
                measuring = (now, cpu_of(order[turn]))  # read before this keyframe goes out
            if due:
                if turn >= 0:
                    if measuring is None:
                        raise RuntimeError(f"turn {turn} ended before its {settle:g} s of settling")
                    turns.append({"who": order[turn], "cpuSeconds": cpu_of(order[turn]) - measuring[1],
                                  "seconds": now - measuring[0]})
                turn += 1
                previous = feeding
                feeding = [order[turn]] if turn < len(order) else everyone
                for i in everyone:
                    if i in previous and i not in feeding:
                        paused_at[i] = stamp
                    elif i not in previous and i in feeding:
                        skipped[i] += stamp - paused_at[i]
                turn_started, measuring = now, None
                if turn == len(order):
                    on_turns(turns)
        for i in feeding[n % len(feeding):] + feeding[:n % len(feeding)]:
            publishers[i].send_tag(kind, (stamp - skipped[i]) & 0xFFFFFFFF, body)


# --- Non-blocking readers ---------------------------------------------------------------------------------------

class Reader:
    """Base of the event-loop readers. `bytes` counts what arrived after the play started (RTMP) or after the
    HTTP header (FLV); `last` is when bytes last arrived; `state` is 0 connecting, 1 playing, -1 failed."""

    def __init__(self, port, timing=False):
        self.port, self.timing = port, timing
        self.bytes, self.last, self.state, self.error = 0, 0.0, 0, None
        self.started_at = None  # when the play started (RTMP Play.Start, the FLV response's header)
        self.frames = []     # (video timestamp, receive time) when timing
        self.outbox = b""
        self.sock = socket.socket()
        self.sock.setblocking(False)
        code = self.sock.connect_ex((HOST, port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
        self.connected = False

    def fileno(self):
        return self.sock.fileno()

    def write(self, data):
        self.outbox += data
        self.flush()

    def flush(self):
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox)
            except BlockingIOError:
                return False
            self.outbox = self.outbox[sent:]
        return True

    def fail(self, message):
        if self.state != -1:
            self.state, self.error = -1, message
        try:
            self.sock.close()
        except OSError:
            pass

    def on_connected(self):
        raise NotImplementedError

    def on_data(self, data, now):
        raise NotImplementedError


class RTMPPlayer(Reader):
    """Plain handshake, connect, createStream, play; then counts bytes (or, when timing, parses chunks and notes
    each video frame's timestamp and receive time). Acknowledges each window of bytes received, as RTMP asks."""

    def __init__(self, port, app, name, timing=False):
        super().__init__(port, timing)
        self.app, self.name = app, name
        self.phase = "handshake"
        self.pending = bytearray()
        self.parser = ChunkParser()
        self.received = 0            # all bytes after the handshake, for acknowledgements
        self.window, self.acked = None, 0
        self.stream_id = 1

    def on_connected(self):
        self.write(b"\x03" + bytes(HANDSHAKE_SIZE))  # C0, C1: time 0, zero, zero "random" bytes (a plain handshake)

    def send(self, csid, kind, stream_id, payload):
        self.write(chunk_message(csid, kind, stream_id, 0, payload, 128))

    def on_data(self, data, now):
        if self.phase == "handshake":
            self.pending += data
            if len(self.pending) < 1 + 2 * HANDSHAKE_SIZE:
                return
            s1 = bytes(self.pending[1:1 + HANDSHAKE_SIZE])
            data = bytes(self.pending[1 + 2 * HANDSHAKE_SIZE:])
            self.pending = bytearray()
            self.write(s1)  # C2
            self.send(3, COMMAND_AMF0, 0, command("connect", 1, {"app": self.app, "flashVer": "LNX 9,0,124,2",
                                                                   "tcUrl": f"rtmp://{HOST}:{self.port}/{self.app}", "fpad": False,
                                                                   "capabilities": 15, "audioCodecs": 4071, "videoCodecs": 252,
                                                                   "videoFunction": 1}))
            self.phase = "setup"
            if not data:
                return
        self.received += len(data)
        if self.window and self.received - self.acked >= self.window:
            self.acked = self.received
            self.send(2, ACKNOWLEDGEMENT, 0, struct.pack(">I", self.received & 0xFFFFFFFF))
        if self.phase == "counting":
            self.bytes += len(data)
            self.last = now
            return
        for kind, stream_id, stamp, payload in self.parser.feed(data):
            if kind == WINDOW_ACK_SIZE and len(payload) >= 4:
                self.window = struct.unpack(">I", payload[:4])[0]
            elif kind == USER_CONTROL and len(payload) >= 6 and struct.unpack(">H", payload[:2])[0] == 6:
                self.send(2, USER_CONTROL, 0, struct.pack(">H", 7) + payload[2:6])  # ping answered
            elif kind == COMMAND_AMF0:
                self.on_command(amf_decode_all(payload))
            elif kind == VIDEO and self.timing and is_video_frame(payload):
                self.frames.append((stamp, now))
            if self.state == 1 and kind in (AUDIO, VIDEO):
                self.last = now
        if self.state == 1:
            if self.started_at is None:
                self.started_at = now
            self.bytes += len(data)
            if not self.timing and self.phase == "playing":
                # The play has started: from here on only bytes are counted. What the parser still holds (part of a
                # message) is among the bytes counted.
                self.phase = "counting"
                self.last = now

    def on_command(self, values):
        if not values:
            return
        name = values[0]
        if name == "_result" and len(values) > 1 and values[1] == 1:
            self.send(3, COMMAND_AMF0, 0, command("createStream", 2, None))
        elif name == "_result" and len(values) > 1 and values[1] == 2:
            self.stream_id = stream_id_of(values)
            self.send(2, USER_CONTROL, 0, struct.pack(">HII", 3, self.stream_id, 1000))  # buffer length 1 s
            self.send(8, COMMAND_AMF0, self.stream_id, command("play", 3, None, self.name, -2000.0))
        elif name == "_error":
            self.fail(f"command refused: {values[3:] or values}")
        elif name == "onStatus" and len(values) > 3 and isinstance(values[3], dict):
            info = values[3]
            if info.get("level") == "error":
                self.fail(f"{info.get('code')}: {info.get('description')}")
            elif info.get("code") == "NetStream.Play.Start":
                self.state, self.phase = 1, "playing"


class FLVReader(Reader):
    """GET /<app>/<stream>.flv; then counts body bytes (or, when timing, undoes the chunked encoding and reads the
    FLV tag headers, noting each video frame's timestamp and receive time)."""

    def __init__(self, port, path, timing=False):
        super().__init__(port, timing)
        self.path = path
        self.head = bytearray()
        self.chunked = False
        self.body = bytearray()     # FLV bytes not yet parsed (timing)
        self.raw = bytearray()      # chunked-encoded bytes not yet decoded (timing)
        self.chunk_left = 0
        self.flv_header_done = False

    def on_connected(self):
        self.write(f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nUser-Agent: bench\r\n\r\n".encode())

    def on_data(self, data, now):
        if self.state == 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 16384:
                    self.fail("HTTP header too long")
                return
            head, data = bytes(self.head[:end]).decode(errors="replace"), bytes(self.head[end + 4:])
            self.head = bytearray()
            status = head.split(" ", 2)
            if len(status) < 2 or status[1] != "200":
                self.fail(f"HTTP {head.splitlines()[0] if head else '?'}")
                return
            self.chunked = "transfer-encoding: chunked" in head.lower()
            self.state = 1
            self.last = self.started_at = now
            if not data:
                return
        self.bytes += len(data)
        self.last = now
        if self.timing:
            self.parse(data, now)

    def parse(self, data, now):
        if self.chunked:
            self.raw += data
            raw = self.raw
            at = 0
            for _ in range(100000):
                # chunk_left: > 0 bytes of chunk data to come, -2 the CRLF after a chunk, 0 a size line next.
                if self.chunk_left > 0:
                    take = min(self.chunk_left, len(raw) - at)
                    self.body += raw[at:at + take]
                    at += take
                    self.chunk_left -= take
                    if self.chunk_left:
                        break
                    self.chunk_left = -2  # the CRLF after the chunk
                if self.chunk_left == -2:
                    if len(raw) - at < 2:
                        break
                    at += 2
                    self.chunk_left = 0
                line_end = raw.find(b"\r\n", at)
                if line_end < 0:
                    break
                size = int(bytes(raw[at:line_end]).split(b";")[0] or b"0", 16)
                at = line_end + 2
                if size == 0:
                    break
                self.chunk_left = size
            del raw[:at]
        else:
            self.body += data
        body, at = self.body, 0
        if not self.flv_header_done:
            if len(body) < 13:
                return
            at = struct.unpack(">I", body[5:9])[0] + 4
            self.flv_header_done = True
        while len(body) - at >= 11:
            size = int.from_bytes(body[at + 1:at + 4], "big")
            if len(body) - at < 11 + size + 4:
                break
            if body[at] & 0x1F == VIDEO and is_video_frame(body[at + 11:at + 13]):
                stamp = int.from_bytes(body[at + 4:at + 7], "big") | (body[at + 7] << 24)
                self.frames.append((stamp, now))
            at += 11 + size + 4
        del body[:at]


def run_readers(make_reader, count, stop, deadline, connect_batch=50, on_tick=None):
    """Opens `count` readers (make_reader(i)), `connect_batch` at a time every 50 ms so the servers' listen
    backlogs are not overrun, and drives them from one epoll loop until `stop` (a multiprocessing Event) is set
    or `deadline` (monotonic) passes. on_tick(readers, now) is called about every 50 ms. Returns the readers."""
    poller = select.epoll()
    readers, by_fd = [], {}
    buffer = bytearray(1 << 18)
    view = memoryview(buffer)
    next_batch = 0.0
    last_tick = 0.0
    while time.monotonic() < deadline and not stop.is_set():
        now = time.monotonic()
        if len(readers) < count and now >= next_batch:
            for _ in range(min(connect_batch, count - len(readers))):
                try:
                    reader = make_reader(len(readers))
                except OSError as error:
                    reader = None
                    failed = Reader.__new__(Reader)
                    failed.bytes, failed.last, failed.state, failed.error, failed.frames, failed.started_at = 0, 0.0, -1, str(error), [], None
                    readers.append(failed)
                    continue
                readers.append(reader)
                by_fd[reader.fileno()] = reader
                poller.register(reader.fileno(), select.EPOLLOUT | select.EPOLLIN)
            next_batch = now + 0.05
        for fd, events in poller.poll(0.05):
            reader = by_fd.get(fd)
            if reader is None:
                continue
            if not reader.connected:
                if events & (select.EPOLLERR | select.EPOLLHUP) and not events & select.EPOLLOUT:
                    error = reader.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    _close(poller, by_fd, reader, f"connect failed: {os.strerror(error) if error else 'hang-up'}")
                    continue
                if events & select.EPOLLOUT:
                    error = reader.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        _close(poller, by_fd, reader, f"connect failed: {os.strerror(error)}")
                        continue
                    reader.connected = True
                    reader.on_connected()
                    poller.modify(fd, select.EPOLLIN | (select.EPOLLOUT if reader.outbox else 0))
                    continue
            if events & select.EPOLLOUT:
                if reader.flush():
                    poller.modify(fd, select.EPOLLIN)
            if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                try:
                    n = reader.sock.recv_into(buffer)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as error:
                    _close(poller, by_fd, reader, str(error))
                    continue
                now = time.monotonic()  # the arrival time of these bytes
                if n == 0:
                    _close(poller, by_fd, reader, "closed by the server")
                    continue
                try:
                    reader.on_data(bytes(view[:n]), now)
                except (ValueError, IndexError, struct.error) as error:
                    _close(poller, by_fd, reader, f"protocol: {error}")
                    continue
                if reader.state == -1:
                    _close(poller, by_fd, reader, reader.error)
                elif reader.outbox:
                    poller.modify(fd, select.EPOLLIN | select.EPOLLOUT)
        now = time.monotonic()
        if on_tick and now - last_tick >= 0.05:
            last_tick = now
            on_tick(readers, now)
    for reader in list(by_fd.values()):
        try:
            reader.sock.close()
        except OSError:
            pass
    poller.close()
    if on_tick:
        on_tick(readers, time.monotonic())
    return readers


def _close(poller, by_fd, reader, reason):
    fd = reader.fileno()
    by_fd.pop(fd, None)
    try:
        poller.unregister(fd)
    except (OSError, ValueError):
        pass
    reader.fail(reason)

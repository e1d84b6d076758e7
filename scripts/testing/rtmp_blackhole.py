#!/usr/bin/env python3
"""An RTMP server that accepts one publish and then never reads again: a push target that stops taking data.

Usage: rtmp_blackhole.py   (prints the port it listens on, then serves until killed)

Each connection gets a plain handshake, `_result` for `connect`, `_result` (stream 1) for `createStream` and
`onStatus NetStream.Publish.Start` for `publish`, answered as the client's commands arrive (recognised by name in
the bytes, no chunk parsing needed), and then nothing: the socket is held open and never read, so the sender's
buffers fill up. Shares no code with CueCast.
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtmp_play import enc  # noqa: E402


def message(csid, mtype, stream_id, payload):
    """One message in 128-byte chunks (the client reads at 128 until told otherwise)."""
    out = bytes([csid]) + (0).to_bytes(3, "big") + len(payload).to_bytes(3, "big") + bytes([mtype]) + struct.pack("<I", stream_id)
    for i in range(0, len(payload), 128):
        if i:
            out += bytes([0xC0 | csid])
        out += payload[i:i + 128]
    return out


def serve(conn):
    data = b""
    while len(data) < 1537:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    conn.sendall(b"\x03" + bytes(1536) + data[1:1537])  # S0, S1, S2 (echoes C1)
    data = data[1537:]
    answered = set()
    while "publish" not in answered:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
        if b"connect" in data and "connect" not in answered:
            answered.add("connect")
            conn.sendall(message(3, 20, 0, enc("_result") + enc(1) + enc({"fmsVer": "FMS/3,0,1,123"}) +
                                 enc({"level": "status", "code": "NetConnection.Connect.Success", "description": "ok"})))
        if b"createStream" in data and "createStream" not in answered:
            answered.add("createStream")
            conn.sendall(message(3, 20, 0, enc("_result") + enc(4) + enc(None) + enc(1)))
        if b"publish" in data.replace(b"FCPublish", b"").replace(b"releaseStream", b"") and "publish" not in answered:
            answered.add("publish")
            conn.sendall(message(5, 20, 1, enc("onStatus") + enc(0) + enc(None) +
                                 enc({"level": "status", "code": "NetStream.Publish.Start", "description": "go"})))
    threading.Event().wait()  # hold the socket, never read


def main():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small window from the first SYN on, so the sender's buffers fill within seconds of the last read.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    print(server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

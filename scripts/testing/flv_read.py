#!/usr/bin/env python3
"""Reads an FLV stream over HTTP and prints what it holds, as JSON, sharing no code with CueCast.

Usage: flv_read.py URL [--seconds N] [--rate BYTES_PER_SECOND] [--connections K]

Prints {"status", "header", "tags": [{"type", "timestamp", "size", "keyframe"?, "cts"?, "sei"?: [{"uuid", "text"}]}],
"script": [{"timestamp", "name", "value"}], "ended": bool, "bytes"}: tags as FLV 10.1 annex E frames them,
script data decoded from AMF0 here. With --rate the reader takes at most that many bytes a second (a slow viewer).
With --connections K, K viewers connect at once, each reads until it has 64 KB (or --seconds pass) and drops the
connection; prints {"connections", "gotData", "statuses": {code: count}}.
"""
import argparse, json, resource, selectors, socket, struct, sys, time, urllib.parse


def amf0(data, i):
    marker = data[i]; i += 1
    if marker == 0x00:
        return struct.unpack(">d", data[i:i + 8])[0], i + 8
    if marker == 0x01:
        return data[i] != 0, i + 1
    if marker == 0x02:
        n = struct.unpack(">H", data[i:i + 2])[0]; i += 2
        return data[i:i + n].decode(), i + n
    if marker in (0x03, 0x08):
        if marker == 0x08:
            i += 4
        obj = {}
        while True:
            n = struct.unpack(">H", data[i:i + 2])[0]; i += 2
            if n == 0 and data[i] == 0x09:
                return obj, i + 1
            key = data[i:i + n].decode(); i += n
            obj[key], i = amf0(data, i)
    if marker in (0x05, 0x06):
        return None, i
    if marker == 0x0A:
        n = struct.unpack(">I", data[i:i + 4])[0]; i += 4
        items = []
        for _ in range(n):
            v, i = amf0(data, i); items.append(v)
        return items, i
    if marker == 0x0C:
        n = struct.unpack(">I", data[i:i + 4])[0]; i += 4
        return data[i:i + n].decode(), i + n
    raise ValueError("AMF0 marker %d" % marker)


def unescape(nal):
    """Removes emulation prevention bytes (00 00 03 -> 00 00)."""
    out, zeros = bytearray(), 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def user_data_seis(frame):
    """user_data_unregistered SEI messages (H.264 payload type 5) in a 4-byte length-prefixed access unit."""
    found, i = [], 0
    while i + 4 <= len(frame):
        n = int.from_bytes(frame[i:i + 4], "big")
        nal = frame[i + 4:i + 4 + n]
        i += 4 + n
        if not nal or nal[0] & 0x1F != 6:
            continue
        rbsp, j = unescape(nal[1:]), 0
        while j < len(rbsp) and rbsp[j] != 0x80:
            ptype = 0
            while rbsp[j] == 0xFF:
                ptype += 255; j += 1
            ptype += rbsp[j]; j += 1
            size = 0
            while rbsp[j] == 0xFF:
                size += 255; j += 1
            size += rbsp[j]; j += 1
            if ptype == 5 and size >= 16:
                found.append({"uuid": rbsp[j:j + 16].hex(), "text": rbsp[j + 16:j + size].decode(errors="replace")})
            j += size
    return found


def many(url, count, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    path = url.path + ("?" + url.query if url.query else "")
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, url.netloc)).encode()
    selector = selectors.DefaultSelector()
    got, statuses = 0, {}
    for _ in range(count):
        sock = socket.create_connection((url.hostname, url.port or 80), timeout=5)
        sock.sendall(request)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, bytearray())
    deadline = time.time() + seconds
    while selector.get_map() and time.time() < deadline:
        for key, _ in selector.select(timeout=0.5):
            data = key.data
            try:
                chunk = key.fileobj.recv(65536)
            except (BlockingIOError, ConnectionResetError):
                chunk = b""
            data += chunk
            if not chunk or len(data) >= 65536:
                status = data[9:12].decode(errors="replace") if len(data) >= 12 else "none"
                statuses[status] = statuses.get(status, 0) + 1
                got += len(data) >= 65536
                selector.unregister(key.fileobj)
                key.fileobj.close()
    for key in list(selector.get_map().values()):
        statuses["timeout"] = statuses.get("timeout", 0) + 1
        selector.unregister(key.fileobj)
        key.fileobj.close()
    json.dump({"connections": count, "gotData": got, "statuses": statuses}, sys.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=0)
    parser.add_argument("--connections", type=int, default=0)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if args.connections:
        return many(url, args.connections, args.seconds)
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=args.seconds + 5)
    if args.rate:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    path = url.path + ("?" + url.query if url.query else "")
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, url.netloc)).encode())
    raw = b""
    deadline = time.time() + args.seconds
    ended = False
    while time.time() < deadline:
        want = args.rate // 10 if args.rate else 65536
        try:
            chunk = sock.recv(max(want, 1))
        except (socket.timeout, ConnectionResetError):
            ended = True
            break
        if not chunk:
            ended = True
            break
        raw += chunk
        if args.rate:
            time.sleep(0.1)
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    framing = None
    if headers.get("transfer-encoding") == "chunked":
        # Strict RFC 9112 7.1: size line, exactly that many bytes, CRLF; anything else is a framing error.
        data, i, n = b"", 0, 0
        while True:
            end = body.find(b"\r\n", i)
            if end < 0:
                break
            try:
                size = int(body[i:end].split(b";")[0], 16)
            except ValueError:
                framing = "chunk %d: size line %r" % (n, body[i:end][:16])
                break
            if size == 0 or end + 4 + size > len(body):
                data += body[end + 2:end + 2 + size]
                break
            data += body[end + 2:end + 2 + size]
            if body[end + 2 + size:end + 4 + size] != b"\r\n":
                framing = "chunk %d (%d bytes) not followed by CRLF" % (n, size)
                break
            i = end + 4 + size
            n += 1
    else:
        data = body
    result = {"status": status, "headers": headers, "tags": [], "script": [], "ended": ended, "bytes": len(raw)}
    if framing:
        result["error"] = "chunked framing: " + framing
    if data[:3] == b"FLV":
        result["header"] = {"version": data[3], "audio": bool(data[4] & 4), "video": bool(data[4] & 1)}
        i = 13
        while i + 11 <= len(data):
            kind = data[i]
            size = int.from_bytes(data[i + 1:i + 4], "big")
            ts = int.from_bytes(data[i + 4:i + 7], "big") | data[i + 7] << 24
            if i + 11 + size + 4 > len(data):
                break
            payload = data[i + 11:i + 11 + size]
            tag = {"type": kind, "timestamp": ts, "size": size}
            if kind == 9 and payload:
                tag["keyframe"] = payload[0] >> 4 == 1
                if payload[0] & 0x0F == 7 and len(payload) >= 5:
                    tag["packetType"] = payload[1]
                    cts = int.from_bytes(payload[2:5], "big")
                    tag["cts"] = cts - (1 << 24) if cts & 0x800000 else cts
                    if payload[1] == 1:
                        seis = user_data_seis(payload[5:])
                        if seis:
                            tag["sei"] = seis
            if kind == 8 and payload:
                tag["packetType"] = payload[1] if len(payload) > 1 else None
            if kind == 18:
                name, j = amf0(payload, 0)
                value, _ = amf0(payload, j)
                result["script"].append({"timestamp": ts, "name": name, "value": value})
            result["tags"].append(tag)
            prev = int.from_bytes(data[i + 11 + size:i + 15 + size], "big")
            if prev != 11 + size:
                result["error"] = "PreviousTagSize %d != %d at tag %d" % (prev, 11 + size, len(result["tags"]))
                break
            i += 15 + size
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Sends several GET requests on one HTTP/1.1 keep-alive connection in a single write (pipelined), then reads the
responses in order; for the tests, sharing no code with the server.

Usage: http_pipeline.py HOST PORT PATH [PATH ...]

Prints JSON: a list, in the order the responses came, of {"status", "headers" (lower-case names), "body" (text),
"seconds" (from the write to the response's last byte)}."""
import json
import socket
import sys
import time


def read_response(stream):
    status_line = stream.readline()
    if not status_line:
        raise EOFError("connection closed before a response")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = stream.readline().rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(stream.readline().split(b";")[0], 16)
            if size == 0:
                stream.readline()
                break
            body += stream.read(size)
            stream.readline()
    else:
        body = stream.read(int(headers.get("content-length", "0")))
    return status, headers, body


def main():
    host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    connection = socket.create_connection((host, port), timeout=30)
    request = b"".join(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: http-pipeline-test\r\n\r\n".encode() for path in paths)
    started = time.monotonic()
    connection.sendall(request)
    stream = connection.makefile("rb")
    answers = []
    for _ in paths:
        status, headers, body = read_response(stream)
        answers.append({"status": status, "headers": headers, "body": body.decode("utf-8", "replace"),
                        "seconds": round(time.monotonic() - started, 3)})
    connection.close()
    print(json.dumps(answers))


if __name__ == "__main__":
    main()

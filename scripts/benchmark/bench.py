#!/usr/bin/env python3
"""CueCast next to nginx-rtmp on the same clip, in one run: remux cost, segment availability, delivery, slow
viewers, fan-out to many RTMP players and HTTP-FLV viewers, and glass-to-glass delay, plus what CueCast's
statistics cost. Started by scripts/bench, which installs and builds first.

Every figure is measured here, from /proc, wrk and our own clients; nothing is copied from elsewhere.
"""
import argparse
import bisect
import statistics
import asyncio
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

import rtmpclient  # beside this file: our own RTMP and HTTP-FLV client, sharing no code with CueCast

PAGE = os.sysconf("SC_PAGE_SIZE")
SERVER_CPU = "0"   # the server under test
CLIENT_CPU = "1"   # publishers, viewers, wrk


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid):
    """pid and all its descendants (nginx's workers)."""
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = open(f"/proc/{parent}/task/{parent}/children").read().split()
        except OSError:
            children = []
        for child in map(int, children):
            pids.append(child)
            frontier.append(child)
    return pids


def process_cpu_clock(pid):
    """CPU seconds `pid` has used, all its threads, the exited ones too, to the nanosecond: the kernel's
    per-process CPU clock (clock_getcpuclockid(3): `~pid << 3 | CPUCLOCK_SCHED`). /proc/<pid>/stat counts in
    10 ms ticks: one tick is about 4 % of the CPU a lone stream uses in a 20 s window. Raises OSError when the process is gone."""
    return time.clock_gettime(((~pid) << 3) | 2)


def cpu_seconds(pid):
    total = 0.0
    for p in process_tree(pid):
        try:
            total += process_cpu_clock(p)
        except OSError:
            pass
    return total


def rss_bytes(pid):
    total = 0
    for p in process_tree(pid):
        try:
            total += int(open(f"/proc/{p}/statm").read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def playlist_entries(text):
    """[(uri, duration)] of a media playlist."""
    entries, duration = [], None
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((line.strip(), duration))
            duration = None
    return entries


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * (len(ordered) - 1)))))]


# --- Servers ----------------------------------------------------------------------------------------------------

class Server:
    name = ""

    def __init__(self, work, window, fragment):
        self.work, self.window, self.fragment = work, window, fragment
        self.rtmp, self.http = free_port(), free_port()
        self.process = None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_listening(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.rtmp), 1).close()
                socket.create_connection(("127.0.0.1", self.http), 1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.work}")
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start listening")

    @property
    def pid(self):
        return self.process.pid


class CueCast(Server):
    name = "CueCast"

    def __init__(self, work, window, fragment, binary, extra=()):
        super().__init__(work, window, fragment)
        self.binary, self.extra = binary, list(extra)
        self.data = os.path.join(work, "cuecast-data")
        self.keys = {}

    def prepare(self, streams):
        os.makedirs(self.data, exist_ok=True)
        for n in range(streams):
            name = f"live/s{n}"
            if name not in self.keys:
                self.keys[name] = subprocess.run(
                    [self.binary, "keys", "add", name, "--quiet", "--data-dir", self.data],
                    check=True, capture_output=True, text=True).stdout.strip()

    def start(self):
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, self.binary, "serve", "--data-dir", self.data, "--rtmp-port", str(self.rtmp),
             "--http-port", str(self.http), "--host", "127.0.0.1",
             "--hls-segment-duration", str(self.fragment), "--hls-window", str(self.window), "--log-level", "warning"] + self.extra,
            stdout=open(os.path.join(self.work, "cuecast.log"), "ab"), stderr=subprocess.STDOUT)
        self.wait_listening()
        self.token = open(os.path.join(self.data, "admin-token")).read().strip()

    def publish_url(self, n, port=None):
        return f"rtmp://127.0.0.1:{port or self.rtmp}/live/s{n}?key={self.keys[f'live/s{n}']}"

    def playlist_url(self, n):
        return f"http://127.0.0.1:{self.http}/hls/live/s{n}/index.m3u8"

    def segment_url(self, n, uri):
        return f"http://127.0.0.1:{self.http}/hls/live/s{n}/{uri}"

    def segment_file_bytes(self):
        """Bytes in the memfds holding segments, read from /proc: the segments are outside RSS."""
        total = 0
        fds = f"/proc/{self.pid}/fd"
        for fd in os.listdir(fds):
            try:
                if os.readlink(f"{fds}/{fd}").startswith("/memfd:cuecast-"):
                    total += os.stat(f"{fds}/{fd}").st_size
            except OSError:
                pass  # closed meanwhile
        return total

    def heap_bytes(self):
        """Heap in use (glibc mallinfo2), as the server reports it in /metrics."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}/metrics", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("cuecast_process_heap_bytes "):
                    return float(line.split()[1])
        return None

    def api(self, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())


class NginxRTMP(Server):
    name = "nginx-rtmp"

    def prepare(self, streams):
        self.hls = tempfile.mkdtemp(prefix="nginx-hls-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.makedirs(os.path.join(self.work, "nginx-logs"), exist_ok=True)

    def start(self):
        config = os.path.join(self.work, "nginx.conf")
        # One worker, as nginx-rtmp's live applications need; segments on tmpfs, served by sendfile.
        with open(config, "w") as f:
            f.write(f"""
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
daemon off;
master_process on;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-logs/error.log warn;
events {{ worker_connections 4096; }}
rtmp {{
    server {{
        listen 127.0.0.1:{self.rtmp};
        chunk_size 4096;
        application live {{
            live on;
{''.join(f"            push rtmp://127.0.0.1:{port}/live playPath=t{k};{chr(10)}" for port, k in getattr(self, "push_to", []))}            hls on;
            hls_path {self.hls};
            hls_fragment {self.fragment}s;
            hls_playlist_length {self.fragment * self.window}s;
        }}
    }}
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{self.http};
        location /hls/ {{
            alias {self.hls}/;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }}
    }}
}}
""")
        self.process = subprocess.Popen(["taskset", "-c", SERVER_CPU, "nginx", "-c", config, "-p", self.work],
                                        stdout=open(os.path.join(self.work, "nginx-logs/stdout.log"), "ab"), stderr=subprocess.STDOUT)
        self.wait_listening()

    def stop(self):
        super().stop()
        shutil.rmtree(getattr(self, "hls", ""), ignore_errors=True)

    def segment_file_bytes(self):
        """Bytes of the segment and playlist files under hls_path, on tmpfs: outside nginx's RSS."""
        total = 0
        for root, _, files in os.walk(self.hls):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    pass  # removed meanwhile
        return total

    def publish_url(self, n, port=None):
        return f"rtmp://127.0.0.1:{port or self.rtmp}/live/s{n}"

    def playlist_url(self, n):
        return f"http://127.0.0.1:{self.http}/hls/s{n}.m3u8"

    def segment_url(self, n, uri):
        return f"http://127.0.0.1:{self.http}/hls/{uri}"


# --- Publishers -------------------------------------------------------------------------------------------------

class Publishers:
    """ffmpeg -re -stream_loop -1 -c copy, as the issue prescribes, pinned to the client core."""

    def __init__(self, clip, urls, work):
        self.processes = []
        for i, url in enumerate(urls):
            self.processes.append(subprocess.Popen(
                ["taskset", "-c", CLIENT_CPU, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
                 "-i", clip, "-c", "copy", "-f", "flv", url],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"ffmpeg-{i}.log"), "ab")))

    def failed(self):
        return sum(1 for p in self.processes if p.poll() is not None)

    def stop(self):
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_for_playlists(server, streams, minimum=2, timeout=40):
    deadline = time.time() + timeout
    pending = set(range(streams))
    while pending and time.time() < deadline:
        for n in list(pending):
            try:
                if len(playlist_entries(get(server.playlist_url(n)).decode())) >= minimum:
                    pending.discard(n)
            except Exception:
                pass
        time.sleep(0.3)
    if pending:
        raise RuntimeError(f"{server.name}: no playlist for {len(pending)} of {streams} streams after {timeout} s")


# --- Workload 1: remux cost -------------------------------------------------------------------------------------

def remux_cost(server, clip, streams, warmup, duration, work):
    publishers = Publishers(clip, [server.publish_url(n) for n in range(streams)], work)
    try:
        wait_for_playlists(server, streams, minimum=1, timeout=max(40, warmup + 20))
        time.sleep(warmup)
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        sequences0 = {n: last_segment(server, n) for n in range(streams)}
        time.sleep(duration)
        cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
        # Memory moves as segments come and go: average a few samples of RSS and of the segment files beside it.
        samples, heaps = [], []
        for _ in range(5):
            samples.append((rss_bytes(server.pid), server.segment_file_bytes()))
            if isinstance(server, CueCast):
                heaps.append(server.heap_bytes())
            time.sleep(0.5)
        rss = sum(r for r, _ in samples) / len(samples)
        file_bytes = sum(f for _, f in samples) / len(samples)
        stalled = 0
        for n in range(streams):
            if last_segment(server, n) == sequences0[n]:
                stalled += 1
        segments_expected = duration / server.fragment
        return {"streams": streams, "seconds": round(t1 - t0, 2), "cpuSeconds": round(cpu1 - cpu0, 3),
                "cpuPerStreamSecond": (cpu1 - cpu0) / ((t1 - t0) * streams), "rssBytes": rss, "segmentFileBytes": file_bytes,
                "stalledPlaylists": stalled, "publishersDied": publishers.failed(), "segmentsExpectedPerStream": segments_expected,
                "heapBytes": sum(heaps) / len(heaps) if heaps else None}
    finally:
        publishers.stop()


def combine_rounds(rounds):
    """One remux figure from several rounds: CPU over all of them; memory from the last (each round starts afresh)."""
    seconds = sum(r["seconds"] for r in rounds)
    cpu = sum(r["cpuSeconds"] for r in rounds)
    combined = dict(rounds[-1])
    combined.update({"seconds": round(seconds, 2), "cpuSeconds": round(cpu, 3),
                     "cpuPerStreamSecond": cpu / (seconds * rounds[0]["streams"]),
                     "rssBytes": sum(r["rssBytes"] for r in rounds) / len(rounds),
                     "segmentFileBytes": sum(r["segmentFileBytes"] for r in rounds) / len(rounds),
                     "heapBytes": (sum(r["heapBytes"] for r in rounds) / len(rounds)) if rounds[0].get("heapBytes") is not None else None,
                     "stalledPlaylists": sum(r["stalledPlaylists"] for r in rounds),
                     "publishersDied": sum(r["publishersDied"] for r in rounds),
                     "rounds": [{k: r[k] for k in ("seconds", "cpuSeconds", "cpuPerStreamSecond", "rssBytes")} for r in rounds]})
    return combined


def last_segment(server, n):
    try:
        entries = playlist_entries(get(server.playlist_url(n)).decode())
        return entries[-1][0] if entries else None
    except Exception:
        return None


# --- Workload 2: segment availability ---------------------------------------------------------------------------

class TimingProxy:
    """Forwards a publisher's TCP connection to the server and notes when each keyframe went through: with the
    benchmark clip a keyframe is the only frame over 22 KB (24-35 KB against at most 17 KB), and ffmpeg writes
    each frame as one message, so a read that large is a keyframe arriving. Also counts the bytes the server
    accepted, for the ingest rate."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.keyframes = []
        self.bytes_in = 0

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def note(self, data):
        """Bytes from the publisher, on their way to the server."""
        self.bytes_in += len(data)
        now = time.time()
        if len(data) >= 22000 and (not self.keyframes or now - self.keyframes[-1] > 1.5):
            self.keyframes.append(now)

    async def handle(self, client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(reader, writer, count):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    if count:
                        self.note(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        try:
            await asyncio.gather(pipe(client_reader, upstream_writer, True), pipe(upstream_reader, client_writer, False))
        except asyncio.CancelledError:
            pass  # the run is over and the loop is closing


class FrameCountingProxy(TimingProxy):
    """A TimingProxy that also reads the publisher's chunk stream with our own parser (rtmpclient.ChunkParser) and
    counts the video frames the server accepted, noting at each keyframe (time, frames so far, bytes so far). One
    publisher connection: a new one starts the parse afresh."""

    def __init__(self, target_port):
        super().__init__(target_port)
        self.video_frames = 0
        self.marks = []
        self.handshake_left, self.parser = 0, None

    async def handle(self, client_reader, client_writer):
        self.handshake_left, self.parser = 1 + 2 * rtmpclient.HANDSHAKE_SIZE, rtmpclient.ChunkParser()
        await super().handle(client_reader, client_writer)

    def note(self, data):
        super().note(data)
        if self.parser is None:
            return
        if self.handshake_left:  # C0, C1 and C2
            skip = min(len(data), self.handshake_left)
            self.handshake_left -= skip
            data = data[skip:]
        try:
            messages = self.parser.feed(data)
        except (ValueError, IndexError) as error:
            log(f"ingest proxy: cannot follow the publisher's chunk stream ({error}); frames no longer counted")
            self.parser = None
            return
        for kind, _, _, payload in messages:
            if kind == rtmpclient.VIDEO and rtmpclient.is_video_frame(payload):
                self.video_frames += 1
                if payload[0] >> 4 == 1:  # frame type 1: a keyframe
                    self.marks.append((time.monotonic(), self.video_frames, self.bytes_in))


async def availability(server, clip, streams, duration, work):
    """Each segment's listing time minus when the publisher sent its closing keyframe (its media end)."""
    proxies = []
    for _ in range(streams):
        proxy = TimingProxy(server.rtmp)
        await proxy.start()
        proxies.append(proxy)
    publishers = Publishers(clip, [server.publish_url(n, port=p.port) for n, p in enumerate(proxies)], work)
    delays, unmatched, gop = [], [0], 2.0
    try:
        async def follow(n, proxy):
            seen, cumulative, end = set(), 0.0, time.time() + duration
            loop = asyncio.get_running_loop()
            while time.time() < end:
                try:
                    text = (await loop.run_in_executor(None, get, server.playlist_url(n))).decode()
                except Exception:
                    await asyncio.sleep(0.02)
                    continue
                now = time.time()
                for uri, length in playlist_entries(text):
                    if uri in seen:
                        continue
                    seen.add(uri)
                    cumulative += length
                    # The segment's closing keyframe is the one at its end: with the clip's 2 s GOP, number
                    # cumulative / 2 counting from the first.
                    closing = round(cumulative / gop)
                    if closing < len(proxy.keyframes):
                        delays.append(now - proxy.keyframes[closing])
                    else:
                        unmatched[0] += 1
                await asyncio.sleep(0.02)
        await asyncio.gather(*(follow(n, p) for n, p in enumerate(proxies)))
    finally:
        publishers.stop()
        for p in proxies:
            p.server.close()
    return {"streams": streams, "segments": len(delays), "unmatched": unmatched[0], "p50": percentile(delays, 0.5),
            "p99": percentile(delays, 0.99), "min": min(delays) if delays else None, "max": max(delays) if delays else None,
            "keyframesSeen": [len(p.keyframes) for p in proxies]}


# --- Workload 3: delivery ---------------------------------------------------------------------------------------

def wrk(url, connections, duration):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
                            capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = result.stdout

    def number(pattern, scale=None):
        m = re.search(pattern, text)
        if not m:
            return None
        value, unit = float(m.group(1)), (m.group(2) if m.lastindex and m.lastindex >= 2 else "")
        return value * (scale or {}).get(unit, 1)

    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}
    sizes = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"requestsPerSecond": number(r"Requests/sec:\s+([\d.]+)"),
            "bytesPerSecond": number(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", sizes),
            "p99": number(r"99%\s+([\d.]+)(us|ms|s|m)", units), "non2xx": int(errors.group(1)) if errors else 0,
            "socketErrors": "Socket errors" in text,
            "clientCpuSeconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), "raw": text}


def delivery(servers, clip, duration, connections, rounds):
    """Both servers up, each with a publisher, and wrk taking turns between them, a few seconds at a time: this
    VM's speed can change within seconds, so each round measures both servers in nearly the same moments.
    Returns {server key: [round figures]}."""
    publishers, started = [], []
    try:
        for server in servers.values():
            server.start()
            started.append(server)
            publishers.append(Publishers(clip, [server.publish_url(0)], server.work))
        for server in servers.values():
            wait_for_playlists(server, 1, minimum=3)
        results = {key: [] for key in servers}
        for _ in range(rounds):
            for key, server in servers.items():
                # The newest finished segment but one: listed for longer than the round lasts.
                uri = playlist_entries(get(server.playlist_url(0)).decode())[-2][0]
                segment_url = server.segment_url(0, uri)
                figures = {"segmentBytes": len(get(segment_url))}
                for name, url in (("segment", segment_url), ("playlist", server.playlist_url(0))):
                    cpu0 = cpu_seconds(server.pid)
                    run = wrk(url, connections, duration)
                    run["serverCpuSeconds"] = cpu_seconds(server.pid) - cpu0
                    transferred = (run["bytesPerSecond"] or 0) * duration
                    run["serverCpuSecondsPerGB"] = run["serverCpuSeconds"] / (transferred / 1e9) if transferred else None
                    run["clientCpuShare"] = run["clientCpuSeconds"] / duration
                    figures[name] = run
                results[key].append(figures)
        return results
    finally:
        for publisher in publishers:
            publisher.stop()
        for server in started:
            server.stop()


def combine_deliveries(rounds):
    """The median of each figure over the rounds: on a shared machine one wrk run can be far off either way."""
    combined = {"segmentBytes": rounds[-1]["segmentBytes"], "rounds": rounds}
    for name in ("segment", "playlist"):
        keys = [k for k, v in rounds[0][name].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        combined[name] = {k: statistics.median(r[name][k] for r in rounds if r[name][k] is not None)
                          if any(r[name][k] is not None for r in rounds) else None for k in keys}
        combined[name]["non2xx"] = sum(r[name]["non2xx"] for r in rounds)
        combined[name]["socketErrors"] = any(r[name]["socketErrors"] for r in rounds)
    return combined


# --- Workload 4: slow viewers -----------------------------------------------------------------------------------

async def fetch(url, rate=None, receive_buffer=None):
    """GET over a raw socket, as a player does (a keep-alive request, the body read to its Content-Length);
    `rate` (bytes/s) paces the reading like a viewer on a poor link."""
    host, rest = url.split("//", 1)[1].split("/", 1)
    hostname, port = host.split(":")
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (hostname, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    try:
        writer.write(f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        if status != 200:
            raise RuntimeError(f"{url}: status {status}")
        started, received = time.monotonic(), 0
        while received < length:
            chunk = await reader.read(min(4096 if rate else 65536, length - received))
            if not chunk:
                raise RuntimeError(f"{url}: closed after {received} of {length} bytes")
            received += len(chunk)
            if rate:
                ahead = received / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        return received
    finally:
        writer.close()


# Normal viewers each fetch every new segment once: 40 of them give a p99 over some 400 fetches per phase.
NORMAL_VIEWERS = 40


async def slow_viewers(server, clip, normal, slow, phase, work):
    proxy = TimingProxy(server.rtmp)
    await proxy.start()
    publishers = Publishers(clip, [server.publish_url(0, port=proxy.port)], work)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, wait_for_playlists, server, 1, 3)
        bitrate = sum(length for length in [len(get(server.segment_url(0, uri))) for uri, _ in
                                             playlist_entries(get(server.playlist_url(0)).decode())[:2]]) / (2 * server.fragment)
        times = {"baseline": [], "slow": []}
        phase_name = [None]  # None while a phase settles: nothing is recorded
        stop = [False]

        async def normal_viewer():
            seen = set()
            while not stop[0]:
                try:
                    entries = playlist_entries((await loop.run_in_executor(None, get, server.playlist_url(0))).decode())
                except Exception:
                    await asyncio.sleep(0.2)
                    continue
                for uri, _ in entries[-2:]:
                    if uri in seen:
                        continue
                    seen.add(uri)
                    started, phase_then = time.monotonic(), phase_name[0]
                    try:
                        await fetch(server.segment_url(0, uri))
                        if phase_then is not None and phase_name[0] == phase_then:
                            times[phase_then].append(time.monotonic() - started)
                    except Exception:
                        pass
                await asyncio.sleep(0.5)

        normals = [asyncio.create_task(normal_viewer()) for _ in range(normal)]
        ingest_bits, ingest_seconds, rss = {"baseline": 0, "slow": 0}, {"baseline": 0, "slow": 0}, {}
        # Phases alternate (half the time each, twice) so a machine that drifts moves both alike; each settles for
        # 2 s first, unrecorded, after the slow viewers came or went.
        for name in ("baseline", "slow", "baseline", "slow"):
            # Slow viewers run in a process of their own, so their pacing does not delay the normal viewers' clock.
            slows = None
            if name == "slow":
                slows = multiprocessing.Process(target=run_slow_viewers, args=(server.playlist_url(0), server.segment_url(0, ""), slow, bitrate * 0.10))
                slows.start()
            await asyncio.sleep(2)
            phase_name[0] = name
            bytes0, t0 = proxy.bytes_in, time.monotonic()
            await asyncio.sleep(phase / 2)
            ingest_bits[name] += (proxy.bytes_in - bytes0) * 8
            ingest_seconds[name] += time.monotonic() - t0
            phase_name[0] = None
            rss[name] = max(rss.get(name, 0), rss_bytes(server.pid))
            if slows:
                slows.terminate()
                slows.join()
        ingest = {name: ingest_bits[name] / ingest_seconds[name] for name in ingest_bits}
        stop[0] = True
        for task in normals:
            task.cancel()
        await asyncio.gather(*normals, return_exceptions=True)
        p99 = {name: percentile(values, 0.99) for name, values in times.items()}
        return {"normalViewers": normal, "slowViewers": slow, "streamBitsPerSecond": bitrate * 8,
                "ingestBitsPerSecond": ingest, "normalSegmentP99": p99, "samples": {k: len(v) for k, v in times.items()}, "rssBytes": rss,
                "ingestChange": ingest["slow"] / ingest["baseline"] - 1 if ingest["baseline"] else None,
                "normalP99Change": p99["slow"] / p99["baseline"] - 1 if p99["baseline"] and p99["slow"] else None}
    finally:
        publishers.stop()
        proxy.server.close()


def run_slow_viewers(playlist_url, segment_prefix, count, rate):
    """Viewers on a poor link: each reads the oldest listed segment at `rate` bytes/s through a 4 KB receive
    buffer, again and again, until the process is terminated."""
    async def viewer():
        loop = asyncio.get_running_loop()
        while True:
            try:
                entries = playlist_entries((await loop.run_in_executor(None, get, playlist_url)).decode())
                await fetch(segment_prefix + entries[0][0], rate=rate, receive_buffer=4096)
            except Exception:
                await asyncio.sleep(0.5)

    async def all_viewers():
        await asyncio.gather(*(viewer() for _ in range(count)))
    asyncio.run(all_viewers())


# --- Workload 5: fan-out ----------------------------------------------------------------------------------------

# Seconds after the last reader started playing before a window opens: CueCast sends each new player the current
# GOP at once, and the readers are through that burst well within this.
FANOUT_SETTLE = 3
# A reader is stalled if nothing arrived in the window's last STALL_SECONDS, or it got less than this share of the
# bytes the server took from the publisher meanwhile.
STALL_SECONDS = 2
STALL_SHARE = 0.90


def pin_client():
    """In a child process: the client core, as every other client runs."""
    os.sched_setaffinity(0, {int(CLIENT_CPU)})


def process_cpu_seconds(pid):
    try:
        return process_cpu_clock(pid)
    except OSError:
        return None


def run_fanout_readers(kind, port, count, seconds, stop, received, last, state):
    """Child process: `count` readers of live/s0, RTMP players or HTTP-FLV viewers, in one epoll loop on the client
    core; each reader's bytes, last arrival (monotonic) and state (0 starting, 1 playing, -1 failed) go into the
    shared arrays every 50 ms. At nice 5, so the ffmpeg publisher beside them keeps its pace if they saturate the core."""
    pin_client()
    os.nice(5)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    if kind == "rtmp":
        def make(i):
            return rtmpclient.RTMPPlayer(port, "live", "s0")
    else:
        def make(i):
            return rtmpclient.FLVReader(port, "/live/s0.flv")

    def tick(readers, now):
        for i, reader in enumerate(readers):
            received[i], last[i], state[i] = reader.bytes, reader.last, reader.state
    rtmpclient.run_readers(make, count, stop, time.monotonic() + seconds, on_tick=tick)


def ingest_rates(proxy, frames0, bytes0, t0, frames1, bytes1, t1):
    """What the server took from the publisher in [t0, t1]: video frames per second (the publisher's pace, whatever
    the frames' sizes; ffmpeg -re sends 30 a second unless the server holds it back) and bytes per second, both from
    the first keyframe in the window to the last (whole GOPs); without two keyframes in it, over the whole window."""
    inside = [m for m in proxy.marks if t0 <= m[0] <= t1]
    span = inside[-1][0] - inside[0][0] if len(inside) >= 2 else 0
    if span > 1:
        return {"framesPerSecond": (inside[-1][1] - inside[0][1]) / span, "bytesPerSecond": (inside[-1][2] - inside[0][2]) / span,
                "measuredOver": "gops"}
    return {"framesPerSecond": (frames1 - frames0) / (t1 - t0), "bytesPerSecond": (bytes1 - bytes0) / (t1 - t0),
            "measuredOver": "window"}


def cuecast_ingest(server):
    """CueCast's own counters for live/s0 (bytes and video frames it took from the publisher), or None."""
    if not isinstance(server, CueCast):
        return None
    try:
        answer = server.api("/api/v1/streams/live/s0")
        return {"bytes": answer["counters"]["bytes"], "videoFrames": answer["counters"]["videoFrames"],
                "viewers": answer.get("viewers"), "time": time.monotonic()}
    except Exception:
        return None


async def fanout_phase(server, proxy, kind, count, seconds, work):
    """One steady window of `seconds` with `count` readers of `kind` ("rtmp" or "flv"; 0 readers: the baseline)."""
    loop = asyncio.get_running_loop()
    readers, stop, ready_seconds = None, multiprocessing.Event(), None
    received = multiprocessing.Array("d", max(1, count), lock=False)
    last = multiprocessing.Array("d", max(1, count), lock=False)
    state = multiprocessing.Array("i", max(1, count), lock=False)
    try:
        if count:
            port = server.rtmp if kind == "rtmp" else server.http
            # The readers' own deadline bounds them if this process dies: ramp-up, settling, window and a margin.
            cap = 60 + count / 20 + FANOUT_SETTLE + seconds
            readers = multiprocessing.Process(target=run_fanout_readers,
                                              args=(kind, port, count, cap, stop, received, last, state))
            readers.start()
            began = time.monotonic()
            deadline = began + 30 + count / 50
            while time.monotonic() < deadline and readers.is_alive():
                if all(state[i] == -1 or (state[i] == 1 and received[i] > 0) for i in range(count)):
                    break
                await asyncio.sleep(0.2)
            ready_seconds = time.monotonic() - began
        await asyncio.sleep(FANOUT_SETTLE)
        api0 = await loop.run_in_executor(None, cuecast_ingest, server)
        cpu0, bytes0, frames0, t0 = cpu_seconds(server.pid), proxy.bytes_in, proxy.video_frames, time.monotonic()
        got0 = list(received[:count])
        reader_cpu0 = process_cpu_seconds(readers.pid) if readers else None
        rss = []
        while time.monotonic() < t0 + seconds:
            await asyncio.sleep(min(1.0, t0 + seconds - time.monotonic()))
            rss.append(rss_bytes(server.pid))
        cpu1, bytes1, frames1, t1 = cpu_seconds(server.pid), proxy.bytes_in, proxy.video_frames, time.monotonic()
        got1, last1, state1 = list(received[:count]), list(last[:count]), list(state[:count])
        reader_cpu1 = process_cpu_seconds(readers.pid) if readers else None
        api1 = await loop.run_in_executor(None, cuecast_ingest, server)
        window = t1 - t0
        ingest = ingest_rates(proxy, frames0, bytes0, t0, frames1, bytes1, t1)
        expected = bytes1 - bytes0
        shares = [(got1[i] - got0[i]) / expected if expected else 0 for i in range(count)]
        failed = sum(1 for i in range(count) if state1[i] != 1)
        silent = sum(1 for i in range(count) if state1[i] == 1 and last1[i] < t1 - STALL_SECONDS)
        short = sum(1 for i in range(count) if state1[i] == 1 and last1[i] >= t1 - STALL_SECONDS and shares[i] < STALL_SHARE)
        result = {"viewers": count, "seconds": round(window, 2), "cpuSeconds": round(cpu1 - cpu0, 3),
                  "cpuPerViewerSecond": (cpu1 - cpu0) / (count * window) if count else None,
                  "cpuPerSecond": (cpu1 - cpu0) / window, "rssBytes": sum(rss) / len(rss) if rss else rss_bytes(server.pid),
                  "stalled": failed + silent + short, "failed": failed, "silent": silent, "short": short,
                  "ingestBytesPerSecond": ingest["bytesPerSecond"], "ingestFramesPerSecond": ingest["framesPerSecond"],
                  "ingestMeasuredOver": ingest["measuredOver"], "expectedBytesPerViewer": expected,
                  "medianReceivedShare": statistics.median(shares) if shares else None,
                  "minReceivedShare": min(shares) if shares else None, "readySeconds": ready_seconds,
                  "readerCpuShare": (reader_cpu1 - reader_cpu0) / window if reader_cpu0 is not None and reader_cpu1 is not None else None}
        if api0 and api1:
            span = api1["time"] - api0["time"]
            result.update({"apiBytesPerSecond": (api1["bytes"] - api0["bytes"]) / span,
                           "apiVideoFramesPerSecond": (api1["videoFrames"] - api0["videoFrames"]) / span,
                           "serverViewers": api1["viewers"]})
        return result
    finally:
        stop.set()
        if readers:
            readers.join(10)
            if readers.is_alive():
                readers.terminate()
                readers.join()
            # The next phase starts once the server has let these readers go (CueCast counts its viewers).
            for _ in range(50):
                ingest = await loop.run_in_executor(None, cuecast_ingest, server)
                if not ingest or not ingest["viewers"]:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1)


async def fanout(server, clip, kind, counts, seconds, work):
    """One publisher of the clip (ffmpeg, looping, through the timing proxy that counts what the server takes from
    it), then a window with no readers and one with each count of `kind` readers, the counts rising. Each window
    gives the server's CPU, its RSS, the ingest rate and the readers that stalled."""
    proxy = FrameCountingProxy(server.rtmp)
    await proxy.start()
    publishers = Publishers(clip, [server.publish_url(0, port=proxy.port)], work)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, wait_for_playlists, server, 1, 1)
        await asyncio.sleep(2)
        baseline = await fanout_phase(server, proxy, kind, 0, seconds, work)
        phases = {}
        for count in counts:
            log(f"{server.name}: fan-out, {count} {'RTMP players' if kind == 'rtmp' else 'HTTP-FLV viewers'}")
            phase = await fanout_phase(server, proxy, kind, count, seconds, work)
            phase["cpuPerViewerSecondAboveBaseline"] = (phase["cpuPerSecond"] - baseline["cpuPerSecond"]) / count
            phase["rssPerViewer"] = (phase["rssBytes"] - baseline["rssBytes"]) / count
            phase["ingestBytesChange"] = phase["ingestBytesPerSecond"] / baseline["ingestBytesPerSecond"] - 1 \
                if baseline["ingestBytesPerSecond"] else None
            # The pace in frames: the bytes of a few GOPs differ by a few per cent with the picture, which is not
            # the server's doing.
            phase["ingestChange"] = phase["ingestFramesPerSecond"] / baseline["ingestFramesPerSecond"] - 1 \
                if baseline["ingestFramesPerSecond"] else None
            if "apiBytesPerSecond" in phase and baseline.get("apiBytesPerSecond"):
                phase["apiIngestChange"] = phase["apiBytesPerSecond"] / baseline["apiBytesPerSecond"] - 1
                phase["apiVideoFramesChange"] = phase["apiVideoFramesPerSecond"] / baseline["apiVideoFramesPerSecond"] - 1 \
                    if baseline.get("apiVideoFramesPerSecond") else None
            phase["publishersDied"] = publishers.failed()
            phases[str(count)] = phase
        return {"kind": kind, "baseline": baseline, "counts": phases}
    finally:
        publishers.stop()
        proxy.server.close()


# --- Workload 6: glass-to-glass on loopback ---------------------------------------------------------------------

# Timing readers of each kind: each times every video frame, about 30 a second.
G2G_READERS = 2
# Frames sent in a reader's first second are left out: CueCast starts a player with the current GOP at once.
G2G_JOIN_SECONDS = 1.0


def stop_processes(*processes):
    """Joins each child process started (None: not started), terminating any still running after 5 s."""
    for process in processes:
        if process is not None:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()


def run_g2g_publisher(port, app, name, clip, seconds, started, stop, results):
    """Child process: publishes the clip's tags at real time with our own RTMP publisher, noting when each video
    frame went out; puts {timestamp: send time} on `results` at the end."""
    pin_client()
    publisher = rtmpclient.Publisher(port, app, name, rtmpclient.read_flv_tags(clip))
    error = None
    try:
        publisher.connect()
        started.set()
        publisher.run(seconds, stop)
    except Exception as failure:  # reported by the parent
        error = repr(failure)
    finally:
        publisher.close()
        results.put({"sent": publisher.sent, "sentPTS": publisher.sent_pts, "error": error, "bytes": publisher.bytes_sent})


def run_publishers_in_turns(targets, pids, clip, warmup, order, turn_seconds, settle, seconds, started, stop, results):
    """Child process: one publisher per (port, app, name) in `targets`, feeding their servers (`pids`, whose CPU
    clocks it reads) in turns (`rtmpclient.run_in_turns`); puts ("turns", [turn…]) when the turns are over and
    ("end", None or the error) at the end."""
    pin_client()
    publishers, error = [], None
    try:
        tags = rtmpclient.read_flv_tags(clip)
        publishers = [rtmpclient.Publisher(port, app, name, tags) for port, app, name in targets]
        for publisher in publishers:
            publisher.connect()
        started.set()
        rtmpclient.run_in_turns(publishers, warmup, order, turn_seconds, settle, lambda i: cpu_seconds(pids[i]),
                                lambda turns: results.put(("turns", turns)), seconds, stop)
    except Exception as failure:  # reported by the parent
        error = repr(failure)
    finally:
        results.put(("end", error))
        for publisher in publishers:
            publisher.close()


def run_g2g_readers(specs, seconds, stop, results):
    """Child process: the timing readers in one epoll loop; puts each one's (timestamp, receive time) list."""
    pin_client()

    def make(i):
        kind, port, name = (tuple(specs[i]) + ("s0",))[:3]
        return rtmpclient.RTMPPlayer(port, "live", name, timing=True) if kind == "rtmp" else \
            rtmpclient.FLVReader(port, f"/live/{name}.flv", timing=True)
    readers = rtmpclient.run_readers(make, len(specs), stop, time.monotonic() + seconds)
    results.put([{"kind": specs[i][0], "state": r.state, "error": r.error, "startedAt": r.started_at, "frames": r.frames}
                 for i, r in enumerate(readers)])


def g2g_delays(played, sent):
    """Per reader kind: each video frame's receive time minus its send time, matched by timestamp."""
    kinds = {}
    for reader in played:
        entry = kinds.setdefault(reader["kind"], {"readers": 0, "failed": 0, "delays": [], "unmatched": 0, "missing": 0, "errors": []})
        entry["readers"] += 1
        if reader["state"] != 1 or reader["startedAt"] is None:
            entry["failed"] += 1
            if reader["error"]:
                entry["errors"].append(reader["error"])
            continue
        since = reader["startedAt"] + G2G_JOIN_SECONDS
        got = set()
        for stamp, received in reader["frames"]:
            when = sent.get(stamp)
            if when is None:
                entry["unmatched"] += 1
            elif when >= since:
                got.add(stamp)
                entry["delays"].append(received - when)
        # Frames sent while the reader was there (up to a second before its last one) that never reached it.
        end = max((t for _, t in reader["frames"]), default=since) - 1
        entry["missing"] += sum(1 for stamp, when in sent.items() if since <= when <= end and stamp not in got)
    result = {}
    for kind, entry in kinds.items():
        delays = entry.pop("delays")
        entry.update({"frames": len(delays), "p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99),
                      "max": max(delays) if delays else None, "min": min(delays) if delays else None})
        result[kind] = entry
    return result


def glass_to_glass(server, clip, seconds, work):
    """Our publisher sends the clip at real time and notes when each video frame goes out; timing readers (RTMP
    players, and HTTP-FLV viewers on CueCast) note when each arrives: delay = arrival - send, by timestamp."""
    app, name = server.publish_url(0).split("/", 3)[3].split("/", 1)
    sent_queue, played_queue = multiprocessing.Queue(), multiprocessing.Queue()
    started, stop = multiprocessing.Event(), multiprocessing.Event()
    publisher = multiprocessing.Process(target=run_g2g_publisher,
                                        args=(server.rtmp, app, name, clip, seconds + 60, started, stop, sent_queue))
    publisher.start()
    readers, sent, played = None, None, None
    try:
        deadline = time.monotonic() + 15
        while not started.wait(0.2):
            if time.monotonic() > deadline or not publisher.is_alive():
                answer = sent_queue.get(timeout=5) if not publisher.is_alive() else {}
                raise RuntimeError(f"{server.name}: our publisher did not start: {answer.get('error')}")
        for _ in range(50):  # CueCast refuses a play of a stream that is not live yet; nginx-rtmp waits for it
            if not isinstance(server, CueCast) or cuecast_ingest(server):
                break
            time.sleep(0.2)
        time.sleep(1)
        specs = [("rtmp", server.rtmp)] * G2G_READERS + ([("flv", server.http)] * G2G_READERS if isinstance(server, CueCast) else [])
        readers = multiprocessing.Process(target=run_g2g_readers, args=(specs, seconds, stop, played_queue))
        readers.start()
        played = played_queue.get(timeout=seconds + 30)
        readers.join(10)
        stop.set()
        answer = sent_queue.get(timeout=15)
        publisher.join(10)
        sent = answer["sent"]
        if answer["error"]:
            log(f"{server.name}: glass-to-glass publisher: {answer['error']}")
    finally:
        stop.set()
        stop_processes(readers, publisher)
    result = g2g_delays(played, sent)
    result.update({"seconds": seconds, "videoFramesSent": len(sent), "publisherError": answer["error"]})
    return result


def run_ll_reader(port, path, seconds, results):
    """Child process: a Low-Latency HLS reader (the test's LL-HLS client logic: blocking reloads, part by part from
    the newest independent part) noting when each video frame arrives, by presentation time in ms (the 90 kHz
    composition time less CueCast's 10 s TS offset). For each part it waited for at the edge (a blocking reload for
    exactly that part), it also notes when that reload was answered and the part's video frames: the part's
    availability."""
    pin_client()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
    import isobmff
    from llhls_client import newest_independent_part, parse, parts_of
    base = f"http://127.0.0.1:{port}{path.rsplit('/', 1)[0]}/"
    frames, error, started, hold_back = [], None, time.monotonic(), None
    answered, held_parts = {}, []  # (msn, part) -> when the blocking reload asking for it was answered
    try:
        playlist = parse(get(f"http://127.0.0.1:{port}{path}").decode())
        text_hold = None
        msn, index = newest_independent_part(playlist)
        tracks, maps = None, {}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            parts, whole, map_uri = parts_of(playlist, msn)
            if parts is not None and whole and index >= len(parts):
                msn, index = msn + 1, 0
                continue
            if parts is None or index >= len(parts):
                text = get(f"http://127.0.0.1:{port}{path}?_HLS_msn={msn}&_HLS_part={index}", timeout=15).decode()
                answered[(msn, index)] = time.monotonic()
                playlist = parse(text)
                if text_hold is None:
                    match = re.search(r"PART-HOLD-BACK=([0-9.]+)", text)
                    text_hold = float(match.group(1)) if match else None
                continue
            if map_uri not in maps:
                maps[map_uri] = isobmff.init_tracks(get(base + map_uri))
                tracks = maps[map_uri]
            data = get(base + parts[index]["uri"])
            arrived = time.monotonic()
            video = [t for t, info in tracks.items() if info["handler"] == "vide"]
            stamps = [((decode + offset) - 900_000) // 90 & 0xFFFFFFFF
                      for decode, _, _, offset in (isobmff.fragment_samples(data, tracks).get(video[0], []) if video else [])]
            frames += [(stamp, arrived) for stamp in stamps]
            if (msn, index) in answered and stamps:
                held_parts.append({"answered": answered[(msn, index)], "stamps": stamps})
            index += 1
        hold_back = text_hold
    except Exception as failure:  # reported by the parent
        error = repr(failure)
    results.put([{"kind": "ll", "state": 1 if error is None else -1, "startedAt": started, "frames": frames, "error": error,
                  "partHoldBack": hold_back, "heldParts": held_parts}])


def part_availability(held_parts, sent):
    """How long after its frames went out a part waited for at the edge was answered: from its last frame (what
    the issue measures; includes waiting for the next frame, since a part ends only when a frame past it arrives)
    and from the frame that closed it (the first of the next part: the server's own share)."""
    times = sorted(sent.values())
    from_last, from_closing = [], []
    for part in held_parts:
        if any(stamp not in sent for stamp in part["stamps"]):
            continue
        last = max(sent[stamp] for stamp in part["stamps"])  # sent last: in decode order, whatever the B-frames
        from_last.append(part["answered"] - last)
        following = bisect.bisect_right(times, last)
        if following < len(times):
            from_closing.append(part["answered"] - times[following])
    summary = lambda values: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
                              "max": max(values) if values else None}
    return {"parts": len(from_last), "fromLastFrame": summary(from_last), "fromClosingFrame": summary(from_closing)}


def ts_video_pts(data):
    """Presentation times (90 kHz) of the video PES packets in an MPEG-TS segment: PAT → PMT → the H.264/HEVC PID."""
    pmt_pid, video_pid, times = None, None, []
    for offset in range(0, len(data) - 187, 188):
        packet = data[offset:offset + 188]
        if packet[0] != 0x47:
            continue
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        start = packet[1] & 0x40
        control = (packet[3] >> 4) & 3
        payload = packet[4:] if control == 1 else packet[5 + packet[4]:] if control == 3 else b""
        if not start or not payload:
            continue
        if pid == 0:
            section = payload[1 + payload[0]:]
            pmt_pid = ((section[10] & 0x1F) << 8) | section[11]
        elif pid == pmt_pid and video_pid is None:
            section = payload[1 + payload[0]:]
            length = ((section[1] & 0x0F) << 8) | section[2]
            info = ((section[10] & 0x0F) << 8) | section[11]
            cursor = 12 + info
            while cursor + 5 <= 3 + length - 4:
                stream_type = section[cursor]
                elementary = ((section[cursor + 1] & 0x1F) << 8) | section[cursor + 2]
                if stream_type in (0x1B, 0x24):
                    video_pid = elementary
                cursor += 5 + (((section[cursor + 3] & 0x0F) << 8) | section[cursor + 4])
        elif pid == video_pid and payload[:3] == b"\x00\x00\x01" and payload[7] & 0x80:
            p = payload[9:14]
            times.append(((p[0] >> 1) & 0x07) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1)
    return times


def run_ts_reader(port, path, seconds, results):
    """Child process: a plain HLS reader of index.m3u8 polling every 100 ms, fetching each new segment as it is
    listed and noting when each video frame arrives, by presentation time in ms."""
    pin_client()
    base = f"http://127.0.0.1:{port}{path.rsplit('/', 1)[0]}/"
    frames, error, started, seen, target = [], None, time.monotonic(), set(), None
    try:
        deadline = time.monotonic() + seconds
        first = True
        while time.monotonic() < deadline:
            text = get(f"http://127.0.0.1:{port}{path}").decode()
            target = target or int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
            uris = [line for line in text.splitlines() if line and not line.startswith("#")]
            for uri in uris:
                if uri in seen:
                    continue
                seen.add(uri)
                if first:
                    continue  # what was listed before the reader came is not timed
                data = get(base + uri)
                arrived = time.monotonic()
                frames += [((pts - 900_000) // 90 & 0xFFFFFFFF, arrived) for pts in ts_video_pts(data)]
            first = False
            time.sleep(0.1)
    except Exception as failure:  # reported by the parent
        error = repr(failure)
    results.put([{"kind": "ts", "state": 1 if error is None else -1, "startedAt": started, "frames": frames, "error": error,
                  "holdBack": 3 * target if target else None}])


def low_latency_g2g(server, clip, seconds):
    """Our publisher sends the clip at real time noting when each video frame goes out (by presentation time); an
    LL-HLS reader notes when the part holding it arrives. Delay = arrival - send; plus PART-HOLD-BACK, what a
    compliant player (hls.js, AVPlayer) waits behind the live edge."""
    app, name = server.publish_url(0).split("/", 3)[3].split("/", 1)
    sent_queue, played_queue = multiprocessing.Queue(), multiprocessing.Queue()
    started, stop = multiprocessing.Event(), multiprocessing.Event()
    publisher = multiprocessing.Process(target=run_g2g_publisher,
                                        args=(server.rtmp, app, name, clip, seconds + 60, started, stop, sent_queue))
    publisher.start()
    reader = ts_reader = None
    stream = f"{app}/{name.split('?')[0]}"
    try:
        if not started.wait(15):
            raise RuntimeError("our publisher did not start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{server.http}/hls/{stream}/ll.m3u8").count(b"#EXTINF") >= 2:
                    break
            except Exception:
                pass
            time.sleep(0.3)
        reader = multiprocessing.Process(target=run_ll_reader, args=(server.http, f"/hls/{stream}/ll.m3u8", seconds, played_queue))
        reader.start()
        ts_queue = multiprocessing.Queue()
        ts_reader = multiprocessing.Process(target=run_ts_reader, args=(server.http, f"/hls/{stream}/index.m3u8", seconds, ts_queue))
        ts_reader.start()
        played = played_queue.get(timeout=seconds + 30)
        ts_played = ts_queue.get(timeout=seconds + 30)
        reader.join(10)
        ts_reader.join(10)
        stop.set()
        answer = sent_queue.get(timeout=15)
        publisher.join(10)
    finally:
        stop.set()
        stop_processes(reader, ts_reader, publisher)
    result = g2g_delays(played, answer["sentPTS"]).get("ll", {})
    hold = played[0].get("partHoldBack")
    result.update({"seconds": seconds, "partHoldBack": hold, "error": played[0].get("error"),
                   "p99WithHoldBack": result["p99"] + hold if result.get("p99") is not None and hold else None,
                   "partAvailability": part_availability(played[0].get("heldParts", []), answer["sentPTS"])})
    ts = g2g_delays(ts_played, answer["sentPTS"]).get("ts", {})
    ts_hold = ts_played[0].get("holdBack")
    ts.update({"holdBack": ts_hold, "error": ts_played[0].get("error"),
               "p99WithHoldBack": ts["p99"] + ts_hold if ts.get("p99") is not None and ts_hold else None})
    result["transportStream"] = ts
    return result


# --- Push (simulcast) ---------------------------------------------------------------------------------------------

class Sink:
    """An nginx-rtmp that receives the pushed streams (live/t0, t1, …), on the client core like every other client.

    One process (`master_process off`), so `stop()` pulls the plug on everything: with a master and a worker,
    killing the master left the worker running, still listening and still holding every push connection (an
    orphan per stop), and a "restart" measured only a new reader joining it."""

    def __init__(self, work):
        self.work = os.path.join(work, "sink")
        os.makedirs(self.work, exist_ok=True)
        self.port = free_port()
        self.process = None

    def start(self):
        config = os.path.join(self.work, "nginx.conf")
        with open(config, "w") as f:
            f.write(f"""
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log warn;
events {{ worker_connections 4096; }}
rtmp {{ server {{ listen 127.0.0.1:{self.port}; chunk_size 4096; application live {{ live on; }} }} }}
""")
        self.process = subprocess.Popen(["taskset", "-c", CLIENT_CPU, "nginx", "-c", config, "-p", self.work],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the push sink did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def push_cost(server, sink, clip, count, seconds, work, restart=True):
    """One publish of the clip pushed to `count` targets on the sink: the pushing server's CPU-s per target-second
    (with the CPU seconds and target-seconds behind it, so rounds can be summed), each target's delay (our
    publisher's send → a timing reader at the sink, one reader per target, matched by timestamp), then, with
    `restart`, the sink killed and restarted: seconds until frames reach a sink reader again."""
    ids = add_push_targets(server, sink, count)
    app, name = server.publish_url(0).split("/", 3)[3].split("/", 1)
    sent_queue, played_queue = multiprocessing.Queue(), multiprocessing.Queue()
    started, stop = multiprocessing.Event(), multiprocessing.Event()
    publisher = multiprocessing.Process(target=run_g2g_publisher,
                                        args=(server.rtmp, app, name, clip, seconds + 120, started, stop, sent_queue))
    publisher.start()
    readers = None
    result = {"targets": count}
    try:
        if not started.wait(15):
            raise RuntimeError(f"{server.name}: our publisher did not start")
        time.sleep(FANOUT_SETTLE + 2)  # targets connect and settle
        specs = [("rtmp", sink.port, f"t{k}") for k in range(count)]
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        readers = multiprocessing.Process(target=run_g2g_readers, args=(specs, seconds, multiprocessing.Event(), played_queue))
        readers.start()
        played = played_queue.get(timeout=seconds + 30)
        cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
        readers.join(10)
        result["cpuPerTargetSecond"] = (cpu1 - cpu0) / (count * (t1 - t0))
        result["cpuSeconds"], result["targetSeconds"] = cpu1 - cpu0, count * (t1 - t0)
        if not restart:
            stop.set()
            answer = sent_queue.get(timeout=15)
            publisher.join(10)
            return push_delays(result, played, answer)
        # Target restart: the sink goes away for 2 s; how long until a reader there gets frames again.
        sink.stop()
        time.sleep(2)
        sink.start()
        back = time.monotonic()
        reader_queue = multiprocessing.Queue()
        probe = multiprocessing.Process(target=run_g2g_readers, args=([("rtmp", sink.port, "t0")], 40, multiprocessing.Event(), reader_queue))
        probe.start()
        probed = reader_queue.get(timeout=70)
        probe.join(10)
        arrivals = [t for _, t in probed[0]["frames"]]
        result["restartSeconds"] = (min(arrivals) - back) if arrivals else None
        stop.set()
        answer = sent_queue.get(timeout=15)
        publisher.join(10)
    finally:
        stop.set()
        stop_processes(readers, publisher)
        remove_push_targets(server, ids)
    return push_delays(result, played, answer)


def push_cost_in_turns(pair, clip, count, blocks, turn_seconds, settle):
    """The push's CPU, the two servers of `pair` ({key: a stopped server}, the reference first) taking short turns:
    both run at once, pinned to the server core, each publishing-connected (our TCP_NODELAY publishers, one
    process, `run_publishers_in_turns`) and pushing to `count` targets on a sink of its own, but only one is fed
    the clip at a time, so each is alone on the core in its turn. Turns of `turn_seconds` in `blocks` blocks of
    reference, subject, subject, reference and the other way round (ABBA, BAAB: a drift of the VM through a block
    moves both alike), each turn's CPU read on the server's own clock over whole GOPs from its first keyframe
    `settle` s in (the steady state; CueCast's receive low watermark is off after a pause and back a second or two
    later) to its end. Turns a minute apart met a different VM each and one round's ratio
    spread ±25 % and more; seconds apart they meet nearly the same one, and the blocks give an interval.
    Returns, per key, the turns' CPU-s per target-second and their sums, and the paired ratio (`paired_ratio`)."""
    keys = list(pair)
    sinks, ids = {}, {}
    stop = multiprocessing.Event()
    started_servers = []
    publisher, queue = None, multiprocessing.Queue()
    ended = []
    measured = False

    def end_answer(timeout=5):
        """The publishers' process's last word (None or its error), read once; its exit code if it gave none."""
        if not ended:
            try:
                while True:
                    what, value = queue.get(timeout=timeout)
                    if what == "end":
                        ended.append(value)
                        break
            except Exception:
                ended.append(f"no answer; exit code {publisher.exitcode if publisher else None}")
        return ended[0]
    try:
        for key, server in pair.items():
            sink = sinks[key] = Sink(os.path.join(server.work, f"turns-{key}"))
            sink.start()
            if isinstance(server, NginxRTMP):
                server.push_to = [(sink.port, k) for k in range(count)]
            server.start()
            started_servers.append(server)
            ids[key] = []
            add_push_targets(server, sink, count, ids[key])
        targets = [(server.rtmp,) + tuple(server.publish_url(0).split("/", 3)[3].split("/", 1)) for server in pair.values()]
        # ABBA then BAAB: no server's turn runs on into the next block's, so a slow spell of the VM is not shared
        # by two blocks through one long run of a server.
        order = [who for block in range(blocks) for who in ((0, 1, 1, 0) if block % 2 == 0 else (1, 0, 0, 1))]
        warmup = FANOUT_SETTLE + 2  # both fed: streams live, targets connected and settled
        budget = warmup + len(order) * (turn_seconds + 2) + 60
        started = multiprocessing.Event()
        publisher = multiprocessing.Process(target=run_publishers_in_turns,
                                            args=(targets, [server.pid for server in pair.values()], clip, warmup, order,
                                                  turn_seconds, settle, budget + 60, started, stop, queue))
        publisher.start()
        deadline = time.monotonic() + 15
        while not started.wait(0.2):
            if not publisher.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"our publishers did not start: {end_answer() if not publisher.is_alive() else 'timeout'}")
        deadline = time.monotonic() + budget
        while True:
            try:
                what, turns = queue.get(timeout=1)
                break
            except Exception:  # queue.Empty: no word yet
                if not publisher.is_alive():
                    raise RuntimeError(f"our publishers stopped during the turns: {end_answer()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the turns did not end within {budget:g} s")
        if what != "turns":
            ended.append(turns)
            raise RuntimeError(f"our publishers stopped during the turns: {turns}")
        for key, server in pair.items():
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited during the turns")
        # Every target still getting frames (both servers are fed again): a server whose pushes failed would use
        # less CPU and look better.
        specs = [("rtmp", sink.port, f"t{k}") for sink in sinks.values() for k in range(count)]
        check_queue = multiprocessing.Queue()
        readers = multiprocessing.Process(target=run_g2g_readers, args=(specs, 4, multiprocessing.Event(), check_queue))
        readers.start()
        played = check_queue.get(timeout=40)
        readers.join(10)
        starved = [f"{spec[1]}/{spec[2]}" for spec, reader in zip(specs, played) if not reader["frames"]]
        if starved:
            raise RuntimeError(f"push targets with no frames after the turns: {', '.join(starved)}")
        result = {key: {"turns": [], "cpuSeconds": 0.0, "targetSeconds": 0.0, "afterPause": [], "continued": []}
                  for key in keys}
        for index, turn in enumerate(turns):
            entry = result[keys[turn["who"]]]
            rate = turn["cpuSeconds"] / (count * turn["seconds"])
            entry["turns"].append(rate)
            entry["cpuSeconds"] += turn["cpuSeconds"]
            entry["targetSeconds"] += count * turn["seconds"]
            # A turn right after the same server's own one was fed without a pause: if pausing costs a server
            # more (work on resuming that outlasts the settling), its turns after a pause show it. (The first
            # turn follows the warm-up, both servers fed: neither.)
            if index:
                entry["continued" if turns[index - 1]["who"] == turn["who"] else "afterPause"].append(rate)
        for entry in result.values():
            entry["cpuPerTargetSecond"] = entry["cpuSeconds"] / entry["targetSeconds"]
        result["paired"] = paired_ratio(turns, keys, count)
        measured = True
        return result
    finally:
        stop.set()
        if publisher is not None:
            end_answer(timeout=15)  # read, so that the process can exit
        stop_processes(publisher)
        leftover = []
        for key, server in pair.items():
            if server in started_servers and not isinstance(server, NginxRTMP) and server.process.poll() is None:
                # Targets are stored and would push to a dead sink in the next measurement of this server.
                remove_push_targets(server, ids.get(key, []))
                if server.api("/api/v1/streams/live/s0/pushes").get("pushes"):
                    leftover.append(server.name)
            server.stop()
            server.push_to = []
        for sink in sinks.values():
            sink.stop()
        if leftover and measured:  # (otherwise the error that ended the measurement is the one to see)
            raise RuntimeError(f"push targets left behind on {', '.join(leftover)}")


# Student's t, two-sided 95 %, by degrees of freedom (1–30); beyond, the normal 1.96 is near enough.
T_95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t_95(df):
    """Student's t, two-sided 95 %, for `df` degrees of freedom (rounded down): the table to 30, beyond it
    1.96 + 2.36 / df (within 0.003 of the exact value: 2.021 at 40, 2.000 at 60, 1.980 at 120)."""
    df = max(1, int(df))
    return T_95[df - 1] if df <= len(T_95) else 1.96 + 2.36 / df


def log_interval(mean, spread, df):
    """A geometric mean and its 95 % interval from a mean of logs, its standard error and degrees of freedom."""
    t = t_95(df)
    return {"geometricMean": math.exp(mean), "low": math.exp(mean - t * spread), "high": math.exp(mean + t * spread)}


def paired_ratio(turns, keys, count):
    """The subject's (keys[1]) CPU over the reference's (keys[0]) from turns in blocks of four (ABBA or BAAB):
    each block's ratio (its subject CPU-s per target-s over its reference's), their geometric mean and its 95 %
    interval (Student's t on the blocks' log ratios: blocks share no turn and no run of one server, so they are
    taken as independent draws of the VM)."""
    ratios = []
    for at in range(0, len(turns) - 3, 4):
        block = turns[at:at + 4]
        per = [sum(t["cpuSeconds"] for t in block if t["who"] == who) /
               (count * sum(t["seconds"] for t in block if t["who"] == who)) for who in (0, 1)]
        if per[0] > 0:
            ratios.append(per[1] / per[0])
    logs = [math.log(r) for r in ratios if r > 0]
    if len(logs) < 2:
        return {"blocks": ratios}
    return {"blocks": ratios, **log_interval(statistics.fmean(logs), statistics.stdev(logs) / math.sqrt(len(logs)),
                                             len(logs) - 1)}


def corrected_ratio(blocks, control_blocks):
    """The subject's ratio to the reference (`blocks`, one per block) corrected by the control's (`control_blocks`:
    the same subject against a second, identical one in the reference's place): their geometric means' quotient
    and its 95 % interval, Welch's t on the two sets of log ratios (degrees of freedom by Welch–Satterthwaite,
    rounded down). Whatever the method favours one place by shows in the control and is divided out, and a
    noisy control widens the interval instead of only failing a gate. None with fewer than two blocks on a side."""
    a, b = ([math.log(r) for r in side if r > 0] for side in (blocks, control_blocks))
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else len(a) + len(b) - 2
    return {**log_interval(statistics.fmean(a) - statistics.fmean(b), math.sqrt(va + vb), df), "degreesOfFreedom": df}


def add_push_targets(server, sink, count, ids=None):
    """CueCast: `count` push targets on the sink through the API, their ids appended to `ids` as each is made (and
    returned); nginx-rtmp has them in its config."""
    ids = [] if ids is None else ids
    if isinstance(server, CueCast):
        for k in range(count):
            body = json.dumps({"url": f"rtmp://127.0.0.1:{sink.port}/live/t{k}", "name": f"t{k}"}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{server.http}/api/v1/streams/live/s0/pushes", data=body, method="POST",
                                             headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                ids.append(json.loads(response.read())["id"])
    return ids


def remove_push_targets(server, ids):
    for target in ids:
        request = urllib.request.Request(f"http://127.0.0.1:{server.http}/api/v1/streams/live/s0/pushes/{target}", method="DELETE",
                                         headers={"Authorization": f"Bearer {server.token}"})
        urllib.request.urlopen(request, timeout=5).close()


def push_cost_ffmpeg(server, sink, clip, count, seconds, work):
    """The same push, CPU only, with ffmpeg publishing instead of our publisher. ffmpeg leaves Nagle's algorithm
    on, so its small writes leave in fewer, larger segments; our publisher (like librtmp) sets TCP_NODELAY
    and writes each message at once. A server woken per read pays per wake-up, so the two can differ."""
    ids = add_push_targets(server, sink, count)
    publishers = Publishers(clip, [server.publish_url(0)], work)
    try:
        time.sleep(FANOUT_SETTLE + 2)  # targets connect and settle
        if publishers.failed():
            raise RuntimeError(f"{server.name}: ffmpeg did not keep publishing")
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
        if publishers.failed():
            raise RuntimeError(f"{server.name}: ffmpeg stopped publishing during the window")
        return {"ffmpegCpuSeconds": cpu1 - cpu0, "ffmpegTargetSeconds": count * (t1 - t0)}
    finally:
        publishers.stop()
        remove_push_targets(server, ids)


def push_delays(result, played, answer):
    delays = g2g_delays(played, answer["sent"]).get("rtmp", {})
    result.update({"delayP50": delays.get("p50"), "delayP99": delays.get("p99"), "framesMissing": delays.get("missing"),
                   "failedTargets": delays.get("failed"), "frames": delays.get("frames")})
    return result


def merge_push_rounds(rounds):
    """One figure per count from several rounds: CPU summed over all of them (so a noisy window weighs what its
    length does), delays as the median of the rounds' percentiles, the restart time from the round that measured it."""
    merged = dict(rounds[0])
    cpu, target_seconds = sum(r["cpuSeconds"] for r in rounds), sum(r["targetSeconds"] for r in rounds)
    merged["cpuPerTargetSecond"] = cpu / target_seconds if target_seconds else None
    merged["cpuPerTargetSecondRounds"] = [r["cpuPerTargetSecond"] for r in rounds]
    ff_cpu, ff_seconds = sum(r.get("ffmpegCpuSeconds") or 0 for r in rounds), sum(r.get("ffmpegTargetSeconds") or 0 for r in rounds)
    merged["cpuPerTargetSecondFFmpeg"] = ff_cpu / ff_seconds if ff_seconds else None
    for key, name in (("delayP50", "p50"), ("delayP99", "p99")):
        values = sorted(r[key] for r in rounds if r.get(key) is not None)
        merged[key] = values[len(values) // 2] if values else None
    merged["framesMissing"] = sum(r.get("framesMissing") or 0 for r in rounds)
    merged["failedTargets"] = sum(r.get("failedTargets") or 0 for r in rounds)
    merged["frames"] = sum(r.get("frames") or 0 for r in rounds)
    merged["rounds"] = len(rounds)
    return merged


# --- Stats overhead (CueCast only) ------------------------------------------------------------------------------

def setting_cost(name, on, off, binary, work, window, fragment, clip, streams, warmup, duration, rounds=1, read_stats=False):
    """CueCast's CPU per stream-second with a setting on (`on`: extra arguments) and off, the two taking turns
    `rounds` times; with `read_stats`, the "on" side's API and /metrics are read every second, as an operator would."""
    cpu = {"on": 0.0, "off": 0.0}
    seconds = {"on": 0.0, "off": 0.0}
    for round_index in range(rounds):
        for label, extra in (("on", on), ("off", off)):
            server = CueCast(os.path.join(work, f"{name}-{label}-{round_index}"), window, fragment, binary, extra)
            os.makedirs(server.work, exist_ok=True)
            server.prepare(streams)
            server.start()
            try:
                publishers = Publishers(clip, [server.publish_url(n) for n in range(streams)], server.work)
                try:
                    wait_for_playlists(server, streams, minimum=1)
                    time.sleep(warmup)
                    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
                    while time.monotonic() - t0 < duration / rounds:
                        if label == "on" and read_stats:
                            server.api("/api/v1/streams")
                            get(f"http://127.0.0.1:{server.http}/metrics")
                        time.sleep(1)
                    cpu[label] += cpu_seconds(server.pid) - cpu0
                    seconds[label] += time.monotonic() - t0
                finally:
                    publishers.stop()
            finally:
                server.stop()
    results = {label: cpu[label] / (seconds[label] * streams) for label in cpu}
    results["streams"] = streams
    results["overhead"] = results["on"] / results["off"] - 1 if results["off"] else None
    return results


# --- Report -----------------------------------------------------------------------------------------------------

def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def fmt(value, digits=4, unit=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}{unit}"
    return f"{value}{unit}"


def paired_row(add, name, d_c, d_n, workload, key):
    """The other way to sum up delivery rounds: each round's ratio (the two servers measured seconds apart), then
    their median. It does not favour the server that happened to get more of this VM's fast moments."""
    pairs = zip(d_c.get("rounds", []), d_n.get("rounds", []))
    ratios = [r for r in (ratio(x[workload][key], y[workload][key]) for x, y in pairs) if r is not None]
    if len(ratios) > 1:
        each = ", ".join(f"{r:.2f}" for r in ratios)
        add(f"| {name}, median of each round's ratio ({each}) | – | – | {fmt(statistics.median(ratios), 3)} |  |  |")


def report(figures, options):
    lines = []
    add = lines.append
    c, n = figures["cuecast"], figures["nginx"]
    add("| Measure | CueCast | nginx-rtmp | CueCast / nginx | Goal | Met |")
    add("|---|---|---|---|---|---|")

    def row(name, a, b, goal_text, met, digits=4, unit=""):
        add(f"| {name} | {fmt(a, digits, unit)} | {fmt(b, digits, unit)} | {fmt(ratio(a, b), 3)} | {goal_text} | {met} |")

    counts = options.streams
    for count in counts:
        a = c["remux"][str(count)]["cpuPerStreamSecond"]
        b = n["remux"][str(count)]["cpuPerStreamSecond"]
        goal = "≤ 1.0×" if count == max(counts) else ""
        met = ("yes" if ratio(a, b) <= 1.0 else "no") if goal else ""
        row(f"Remux CPU s per stream-s, {count} publishers", a, b, goal, met, 3)
    for count in counts:
        a, b = c["remux"][str(count)]["rssBytes"] / 2**20, n["remux"][str(count)]["rssBytes"] / 2**20
        row(f"RSS MB, {count} publishers", a, b, "", "", 4)
    lo, hi = str(min(counts)), str(max(counts))
    extra = max(counts) - min(counts)
    if extra:
        def per_stream(side, key="rssBytes"):
            return (side["remux"][hi][key] - side["remux"][lo][key]) / extra / 2**20

        def with_files(side):
            return per_stream(side) + per_stream(side, "segmentFileBytes")
        a = per_stream(c)
        row("RSS MB per extra stream (segment files are outside it, on both servers)", a, per_stream(n), "≤ 0.5 MB",
            "yes" if a <= 0.5 else "no", 3)
        row("Segment file MB per extra stream (CueCast memfd, nginx tmpfs)", per_stream(c, "segmentFileBytes"),
            per_stream(n, "segmentFileBytes"), "", "", 3)
        row("Memory MB per extra stream, RSS and segment files", with_files(c), with_files(n), "", "", 3)
    stalled_c = sum(r["stalledPlaylists"] + r["publishersDied"] for r in c["remux"].values())
    stalled_n = sum(r["stalledPlaylists"] + r["publishersDied"] for r in n["remux"].values())
    row("Stalled playlists or dead publishers (all counts)", stalled_c, stalled_n, "0", "yes" if stalled_c == 0 else "no")
    row("Segment listed after its media end, p50 s", c["availability"]["p50"], n["availability"]["p50"], "", "", 3)
    a = c["availability"]["p99"]
    row("Segment listed after its media end, p99 s", a, n["availability"]["p99"], "≤ 0.1 s", "yes" if a is not None and a <= 0.1 else "no", 3)
    d_c, d_n = c["delivery"], n["delivery"]
    a, b = d_c["segment"]["bytesPerSecond"], d_n["segment"]["bytesPerSecond"]
    row("Segment delivery GB/s (wrk, 100 connections)", a / 1e9 if a else None, b / 1e9 if b else None, "≥ 1.0×",
        "yes" if (ratio(a, b) or 0) >= 1.0 else "no", 3)
    paired_row(add, "Segment delivery", d_c, d_n, "segment", "bytesPerSecond")
    row("Segment fetched by wrk, MB", d_c["segmentBytes"] / 1e6, d_n["segmentBytes"] / 1e6, "", "", 3)
    row("Segment requests/s", d_c["segment"]["requestsPerSecond"], d_n["segment"]["requestsPerSecond"], "", "", 4)
    row("Segment p99 latency ms", (d_c["segment"]["p99"] or 0) * 1000, (d_n["segment"]["p99"] or 0) * 1000, "", "", 3)
    row("Server CPU s per GB of segments", d_c["segment"]["serverCpuSecondsPerGB"], d_n["segment"]["serverCpuSecondsPerGB"], "", "", 3)
    row("wrk's own CPU share, segment run", d_c["segment"]["clientCpuShare"], d_n["segment"]["clientCpuShare"], "", "", 2)
    a, b = d_c["playlist"]["requestsPerSecond"], d_n["playlist"]["requestsPerSecond"]
    row("Playlist requests/s", a, b, "≥ 0.5×", "yes" if (ratio(a, b) or 0) >= 0.5 else "no", 4)
    paired_row(add, "Playlist requests/s", d_c, d_n, "playlist", "requestsPerSecond")
    row("Playlist p99 latency ms", (d_c["playlist"]["p99"] or 0) * 1000, (d_n["playlist"]["p99"] or 0) * 1000, "", "", 3)
    row("wrk's own CPU share, playlist run", d_c["playlist"]["clientCpuShare"], d_n["playlist"]["clientCpuShare"], "", "", 2)
    s_c, s_n = c["slow"], n["slow"]
    a = s_c["ingestChange"]
    row("Ingest rate change with slow viewers", a * 100 if a is not None else None,
        s_n["ingestChange"] * 100 if s_n["ingestChange"] is not None else None, "within ±10%",
        "yes" if a is not None and abs(a) <= 0.10 else "no", 3, " %")
    for phase in ("baseline", "slow"):
        row(f"Normal viewers' segment p99 ms, {'without' if phase == 'baseline' else 'with'} slow viewers",
            (s_c["normalSegmentP99"][phase] or 0) * 1000, (s_n["normalSegmentP99"][phase] or 0) * 1000, "", "", 3)
    # Harm is a rise; a drop (both servers show one) is not an effect to bound. See the notes.
    a = s_c["normalP99Change"]
    row("Normal viewers' segment p99 change with slow viewers", a * 100 if a is not None else None,
        s_n["normalP99Change"] * 100 if s_n["normalP99Change"] is not None else None, "rise ≤ 10%",
        "yes" if a is not None and a <= 0.10 else "no", 3, " %")
    row("RSS MB with slow viewers", s_c["rssBytes"]["slow"] / 2**20, s_n["rssBytes"]["slow"] / 2**20, "bounded", "", 4)
    fanout_rows(row, c.get("fanout") or {}, n.get("fanout") or {})
    g2g_rows(row, c.get("glassToGlass") or {}, n.get("glassToGlass") or {})
    push_rows(row, c.get("push") or {}, n.get("push") or {}, (figures.get("cuecastTS") or {}).get("push") or {},
              figures.get("pushTurns"))
    if "stats" in figures:
        st = figures["stats"]
        add("")
        add(f"CueCast statistics cost, {st['streams']} publishers: {st['on']:.5f} CPU s per stream-s with stats on "
            f"(API and /metrics read every second) vs {st['off']:.5f} with `--stats off` ({st['overhead'] * 100:+.1f} %).")
    if "lowLatency" in figures:
        add("")
        add(low_latency_line(figures["lowLatency"]))
    if "lowLatencyGlassToGlass" in figures:
        g = figures["lowLatencyGlassToGlass"]
        if g.get("p99") is not None:
            add("")
            add(f"Low-Latency HLS glass-to-glass (our publisher → our LL-HLS reader, part by part): p50 {g['p50'] * 1000:.0f} ms, "
                f"p99 {g['p99'] * 1000:.0f} ms over {g['frames']} frames ({g['missing']} missing); with PART-HOLD-BACK "
                f"{g['partHoldBack']} s, what hls.js or AVPlayer waits behind the live edge: p99 {g['p99WithHoldBack']:.2f} s "
                f"(goal ≤ 1.5 s).")
            ts = g.get("transportStream") or {}
            if ts.get("p99") is not None:
                add(f"The TS rendition, read the same way (index.m3u8 polled every 100 ms, each segment fetched as listed): "
                    f"p50 {ts['p50']:.2f} s, p99 {ts['p99']:.2f} s; with HOLD-BACK {ts['holdBack']} s (three target durations): "
                    f"p99 {ts['p99WithHoldBack']:.2f} s.")
    if "heldReloads" in figures:
        h = figures["heldReloads"]
        add("")
        held = h.get("heldSeconds") or []
        add(f"Held blocking reloads: {h['clients']} clients parked on {HELD_PART}, {h['rounds']} rounds"
            + (f" (held {min(held):.1f}–{max(held):.1f} s before it landed)" if held else "") + ": "
            f"{h['answered']} answered, {h['failures']} failed; answers came within {h['spreadP50'] * 1000:.1f} ms (p50) and "
            f"{h['spreadP99'] * 1000:.1f} ms (p99) of the first (goal: p99 ≤ 50 ms), server on one core.")
    return "\n".join(lines)


# --- Low-Latency HLS: held blocking reloads ---------------------------------------------------------------------

def next_part(text):
    """The (msn, part) after the newest part an LL playlist lists."""
    msn, parts_after, last = None, 0, None
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            parts_after += 1
        elif line and not line.startswith("#"):
            last, parts_after = msn, 0
            msn += 1
    return msn, parts_after


HELD_PART = "the first part of one stream's next segment"  # what the held reloads ask for, as reports name it


def held_reloads(port, stream, clients, rounds):
    """`clients` connections each ask ll.m3u8 for a part not yet made with a blocking reload (_HLS_msn/_HLS_part), all
    parked at once; per round, how long after the first answer each other answer came (all should come together
    when the part lands), and how many failed. On the client core, like every other client: left to the scheduler,
    this loop can share the server's core and stretch the spread it measures."""
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    try:
        return held_rounds(port, stream, clients, rounds)
    finally:
        os.sched_setaffinity(0, affinity)


def held_rounds(port, stream, clients, rounds):
    spreads, failures, answered, held_seconds = [], 0, 0, []
    path = f"/hls/{stream}/ll.m3u8"
    for _ in range(rounds):
        text = get(f"http://127.0.0.1:{port}{path}").decode()
        # The first part of the segment after the open one: up to a segment away, so every client is accepted and
        # parked before it lands (the next part, 0.2 s away, would land while the server still accepts 2 000
        # connections, and the late ones would be answered at once, measuring accepts, not the held answer).
        msn = next_part(text)[0] + 1
        request = f"GET {path}?_HLS_msn={msn}&_HLS_part=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        sockets = []
        asked = time.monotonic()
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setblocking(False)
            sock.sendall(request)
            sockets.append(sock)
        pending = {sock.fileno(): sock for sock in sockets}
        first_bytes = {}
        deadline = time.monotonic() + 15
        poller = select.epoll()
        for fd in pending:
            poller.register(fd, select.EPOLLIN)
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(0.5):
                sock = pending.get(fd)
                if sock is None:
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                # The first bytes are the answer's arrival; the rest is not waited for.
                first_bytes[fd] = time.monotonic()
                if not data.startswith(b"HTTP/1.1 200"):
                    failures += 1
                poller.unregister(fd)
                del pending[fd]
        failures += len(pending)
        poller.close()
        for sock in sockets:
            sock.close()
        if first_bytes:
            earliest = min(first_bytes.values())
            held_seconds.append(earliest - asked)
            spreads += [t - earliest for t in first_bytes.values()]
            answered += len(first_bytes)
    spreads.sort()

    def pct(p):
        return spreads[min(len(spreads) - 1, int(p * len(spreads)))] if spreads else None
    return {"clients": clients, "rounds": rounds, "answered": answered, "failures": failures, "spreadP50": pct(0.5),
            "spreadP99": pct(0.99), "heldSeconds": held_seconds}


def low_latency_line(ll):
    return (f"Low-Latency HLS cost, {ll['streams']} publishers: {ll['on']:.5f} CPU s per stream-s with the CMAF rendition "
            f"(`--hls-low-latency on`, the default) vs {ll['off']:.5f} with TS HLS alone ({ll['overhead'] * 100:+.1f} %).")


def fanout_rows(row, f_c, f_n):
    """Fan-out rows, from the figures themselves (a run's JSON without them, or with other counts, still reports)."""
    for kind, label in (("rtmp", "RTMP players"), ("flv", "HTTP-FLV viewers (nginx-rtmp has none)")):
        a_side, b_side = f_c.get(kind), f_n.get(kind)
        if not a_side and not b_side:
            continue
        counts = sorted({int(k) for side in (a_side, b_side) if side for k in side["counts"]})

        def at(side, count, key, scale=1):
            value = (side["counts"].get(str(count)) or {}).get(key) if side else None
            return value * scale if value is not None else None
        for count in counts:
            row(f"Fan-out, {count} {label}: server CPU s per viewer-s", at(a_side, count, "cpuPerViewerSecond"),
                at(b_side, count, "cpuPerViewerSecond"), "", "", 3)
        for count in counts:
            row(f"Fan-out, {count} {label}: RSS KB per viewer", at(a_side, count, "rssPerViewer", 1 / 1024),
                at(b_side, count, "rssPerViewer", 1 / 1024), "", "", 3)
        for count in counts:
            a = at(a_side, count, "stalled")
            row(f"Fan-out, {count} {label}: viewers stalled", a, at(b_side, count, "stalled"), "0",
                "yes" if a == 0 else "no")
        for count in counts:
            a = at(a_side, count, "ingestChange", 100)
            row(f"Fan-out, {count} {label}: publisher's ingest rate change", a, at(b_side, count, "ingestChange", 100),
                "within ±1 %", "yes" if a is not None and abs(a) <= 1 else "no", 3, " %")


def memory_table(memory, counts):
    """Memory per extra stream: the slope between the smallest and the largest publisher count, per server."""
    lo, hi = str(min(counts)), str(max(counts))
    extra = max(counts) - min(counts)

    def per_stream(key, what):
        side = memory.get(key) or {}
        a, b = (side.get(lo) or {}).get(what), (side.get(hi) or {}).get(what)
        return (b - a) / extra / 2**20 if a is not None and b is not None and extra else None
    lines = ["| Measure, MB per extra stream | CueCast (default) | CueCast, TS HLS only, no GOP cache | nginx-rtmp "
             "| lean / nginx | Goal | Met |", "|---|---|---|---|---|---|---|"]
    for what, name, goal in (("rssBytes", "RSS", "≤ 0.5 MB"), ("heapBytes", "Heap in use (CueCast's own figure)", ""),
                             ("segmentFileBytes", "Segment files (memfd / tmpfs)", "")):
        a, t, b = per_stream("cuecast", what), per_stream("cuecastLean", what), per_stream("nginx", what)
        met = ("yes" if t is not None and t <= 0.5 else "no") if goal else ""
        lines.append(f"| {name} | {fmt(a, 3)} | {fmt(t, 3)} | {fmt(b, 3)} | {fmt(ratio(t, b), 3)} | {goal} | {met} |")
    for count in counts:
        cells = [fmt(((memory.get(key) or {}).get(str(count)) or {}).get("rssBytes", 0) / 2**20, 4)
                 for key in ("cuecast", "cuecastLean", "nginx")]
        lines.append(f"| RSS MB, {count} publishers | {cells[0]} | {cells[1]} | {cells[2]} | | | |")
    return "\n".join(lines)


def push_rows(row, p_c, p_n, p_t=None, turns=None):
    """Push rows: CueCast's push targets next to nginx-rtmp's own `push` directive, to the same nginx-rtmp sink.
    `p_t`: CueCast with TS HLS alone (`--hls-low-latency off`), the same work as nginx-rtmp; the CPU goal is read
    there, on the short turns (`turns`, from `push_cost_in_turns`), and the default (with the CMAF rendition too)
    is shown beside it."""
    p_t = p_t or {}
    counts = sorted({int(k) for side in (p_c, p_n) for k in side})

    def at(side, count, key, scale=1):
        value = (side.get(str(count)) or {}).get(key)
        return value * scale if value is not None else None

    def interval(paired):
        return f"{paired['geometricMean']:.3f}×, 95 % interval {paired['low']:.3f}–{paired['high']:.3f}×"
    for count in counts:
        a, b = at(p_c, count, "cpuPerTargetSecond"), at(p_n, count, "cpuPerTargetSecond")
        if p_t:
            paired = (turns or {}).get(str(count))
            if paired:
                # The goal: each server alone on the core in turns seconds apart, in blocks. The blocks' ratio is
                # divided by the control's (CueCast against a second CueCast in nginx-rtmp's place, same method):
                # shown met ("yes") when the whole 95 % interval of that corrected ratio is at or under 1.0, missed
                # ("no") when it is all above, otherwise "not shown".
                p = paired.get("paired") or {}
                control = paired.get("control") or {}
                c = control.get("paired") or {}
                corrected = None
                if "geometricMean" in c:
                    control_text = f"; CueCast against a second CueCast: {interval(c)}"
                    corrected = corrected_ratio(p.get("blocks", []), c["blocks"])
                    if corrected:
                        control_text += f"; corrected by the control: {interval(corrected)}"
                else:
                    control_text = f"; the control failed: {control['error']}" if "error" in control else "; no control"
                if "error" in paired:
                    name, met = f"failed: {paired['error']}", "not shown"
                elif "geometricMean" not in p:
                    name, met = f"{len(p.get('blocks', []))} block(s), too few for an interval", "not shown"
                else:
                    blocks = p["blocks"]
                    name = (f"{len(blocks)} blocks; each block {min(blocks):.2f}–{max(blocks):.2f}×; geometric mean "
                            f"{interval(p)}")
                    pause = [(label, paired[key]) for label, key in (("nginx-rtmp", "nginx"), ("CueCast", "cuecastTS"))
                             if paired.get(key, {}).get("afterPause") and paired[key].get("continued")]
                    if pause:
                        name += "; turns after a pause / turns fed on: " + ", ".join(
                            f"{label} {statistics.fmean(e['afterPause']) / statistics.fmean(e['continued']):.2f}×"
                            for label, e in pause)
                    # A turn far over its server's median is a disturbed one (the VM, or the server): a few of them
                    # move a block's ratio by a third and the interval with it, so the row says how many there were.
                    spikes = [(label, paired[key]["turns"]) for label, key in (("nginx-rtmp", "nginx"), ("CueCast", "cuecastTS"))
                              if paired.get(key, {}).get("turns")]
                    if spikes:
                        name += "; turns over 1.3× their server's median: " + ", ".join(
                            f"{label} {sum(t > 1.3 * statistics.median(turns) for t in turns)}/{len(turns)}"
                            for label, turns in spikes)
                    met = ("not shown" if not corrected else "yes" if corrected["high"] <= 1.0
                           else "no" if corrected["low"] > 1.0 else "not shown")
                row(f"Push to {count} targets, both making TS HLS, short turns (each server alone; {name}{control_text}): "
                    f"server CPU s per target-s, summed over the turns", (paired.get("cuecastTS") or {}).get("cpuPerTargetSecond"),
                    (paired.get("nginx") or {}).get("cpuPerTargetSecond"),
                    "≤ 1.0× nginx-rtmp, all of the corrected 95 % interval", met, 5)
            t = at(p_t, count, "cpuPerTargetSecond")
            # One turn each per round, a minute apart: each round's own ratio shows how far that spreads.
            r_t, r_n = at(p_t, count, "cpuPerTargetSecondRounds"), at(p_n, count, "cpuPerTargetSecondRounds")
            spread = (f" (each round: {', '.join(f'{x / y:.2f}×' for x, y in zip(r_t, r_n))})"
                      if r_t and r_n and len(r_t) == len(r_n) and all(r_n) else "")
            row(f"Push to {count} targets, both making TS HLS, one long turn each per round{spread}: server CPU s per target-s",
                t, b, "", "", 5)
            row(f"Push to {count} targets, CueCast also making LL-HLS (its default): server CPU s per target-s", a, b, "", "", 5)
            f_t, f_n = at(p_t, count, "cpuPerTargetSecondFFmpeg"), at(p_n, count, "cpuPerTargetSecondFFmpeg")
            if f_t is not None or f_n is not None:
                row(f"Push to {count} targets, both making TS HLS, ffmpeg publishing, one long turn each per round: "
                    f"server CPU s per target-s", f_t, f_n, "", "", 5)
        else:
            row(f"Push to {count} targets: server CPU s per target-s", a, b, "≤ 1.0× nginx-rtmp",
                "yes" if a is not None and b and a <= b else "no", 5)
    if len(counts) > 1:
        # What one more target costs, the base (ingest and HLS of the stream) taken out: the slope between the
        # smallest and the largest count.
        low, high = counts[0], counts[-1]

        def slope(side):
            a, b = at(side, low, "cpuPerTargetSecond"), at(side, high, "cpuPerTargetSecond")
            return (b * high - a * low) / (high - low) if a is not None and b is not None else None
        row(f"Push: CPU s per added target-s ({low} → {high} targets)", slope(p_c), slope(p_n), "", "", 5)
        if p_t:
            row(f"Push: CPU s per added target-s ({low} → {high} targets), both making TS HLS", slope(p_t), slope(p_n), "", "", 5)
    for count in counts:
        a = at(p_c, count, "delayP99", 1000)
        row(f"Push to {count} targets: delay p50 ms (send → sink reader)", at(p_c, count, "delayP50", 1000),
            at(p_n, count, "delayP50", 1000), "", "", 2)
        row(f"Push to {count} targets: delay p99 ms", a, at(p_n, count, "delayP99", 1000), "≤ 50 ms",
            "yes" if a is not None and a <= 50 else "no", 2)
    for count in counts:
        row(f"Push to {count} targets: target restart → frames again, s", at(p_c, count, "restartSeconds"),
            at(p_n, count, "restartSeconds"), "", "", 2)


def g2g_rows(row, g_c, g_n):
    def ms(value):
        return value * 1000 if value is not None else None
    for kind, label in (("rtmp", "RTMP play"), ("flv", "HTTP-FLV (nginx-rtmp has none)")):
        a_k, b_k = g_c.get(kind) or {}, g_n.get(kind) or {}
        if not a_k and not b_k:
            continue
        row(f"Glass-to-glass on loopback, {label}, p50 ms", ms(a_k.get("p50")), ms(b_k.get("p50")), "", "", 3)
        a = ms(a_k.get("p99"))
        row(f"Glass-to-glass on loopback, {label}, p99 ms", a, ms(b_k.get("p99")), "≤ 100 ms",
            "yes" if a is not None and a <= 100 else "no", 3)

        def lost(k):
            return k["missing"] + k["unmatched"] if k else None
        row(f"Glass-to-glass, {label}: frames timed / not delivered or unmatched",
            f"{a_k['frames']} / {lost(a_k)}" if a_k else None, f"{b_k['frames']} / {lost(b_k)}" if b_k else None, "", "")


NOTES = """
Notes:
- Memory. Both servers keep segments in files outside their RSS: nginx-rtmp on tmpfs, CueCast in memfds (the
  listed segments, the removed ones still served for their duration plus the playlist's, RFC 8216 section 6.2.2,
  and the one being written). The bench sums those files beside RSS, five samples each: nginx's from its
  `hls_path`, CueCast's from the sizes of its `memfd:cuecast-*` descriptors in /proc. The goal row is RSS; the
  last memory row adds the files.
- Segment delivery. wrk fetches a ~1.5 MB segment of a 6 Mbit/s encode of the same picture (the remux clip's
  segments are ~0.7 MB). Both servers send segment files with sendfile(2), with no copy through the process, so
  the kernel does most of the work on the one server core: counted with `perf stat` per request, both servers
  run the same number of kernel instructions, and CueCast's own code (NIO's HTTP/1 codec and pipeline, its
  handler) adds about 30 k cycles against nginx's 5 k. The kernel's cycles per request sit at one of two levels
  about 2x apart on this VM, for either server, which moves single rounds more than the servers differ. The goal
  row compares each server's median round; the row below it takes each round's ratio and their median, which
  does not favour the server that happened to get more fast rounds. Where the two disagree, the servers are
  within this VM's noise of each other.
- This shared 2-core VM drifts: one server's CPU per stream-second moved by up to 50 % between runs minutes
  apart, and single wrk runs of the same nginx gave 6.5 and 18.4 GB/s within an hour. So the servers take
  turns at every workload, remux cost is summed over alternating rounds, and delivery figures are the median of
  rounds in which wrk turns between the two running servers every few seconds (`--delivery-rounds`). Compare
  ratios within a run.
- Remux cost. CueCast sets each publisher socket's receive low watermark to `publish-gather-ms` (30 ms by default) of its stream, so the
  kernel wakes it for several frames at a time (nginx-rtmp, busier per wake-up, gathers about as many by
  itself: in one 10 s sample at 50 publishers it called epoll_wait 1 250 times, CueCast without the mark
  47 600 times).
- Slow viewers. The normal viewers' p99 comes from about 1 200 fetches with and 1 200 without slow viewers (40
  viewers each fetching every new segment once), in phases that alternate (without, with, without, with).
  Viewers fetch as players do, on keep-alive connections, reading each body to its Content-Length. The p99 shows
  this VM's worst pauses more than either server: with 400 fetches per condition, six runs of two CueCast builds
  moved it by -48 % to +54 %, and nginx-rtmp's moved by +56 % to +285 % in three full runs; with 1 200, two runs
  gave -5 % and -52 % for CueCast, +2 % and -4 % for nginx-rtmp. Both servers' p99s are shown.
"""

FANOUT_NOTE = """- Fan-out. One ffmpeg publisher of the clip (looping, through the TCP proxy that counts what the server takes
  from it), then a window with no readers and one per reader count. Readers are our own (`rtmpclient.py`, no
  code shared with CueCast): one Python process on the client core drives them all from one epoll loop, at nice
  5 so the publisher beside them keeps its pace. An RTMP player does a plain handshake, connect, createStream and
  play (by stream name, on both servers) and acknowledges each window of bytes; an HTTP-FLV viewer sends one GET.
  Both then only count bytes. CPU per viewer-second is the server's CPU over the window divided by viewers times
  seconds (it includes the stream's own remux; the JSON also has it above the no-reader window); RSS per viewer is
  the window's mean RSS minus that of the window without readers, over the count. A viewer is stalled if its
  play failed or ended, if nothing reached it in the window's last 2 s, or if it got less than 90 % of the bytes
  the server took from the publisher meanwhile. The ingest rate is the publisher's pace: video frames the server
  took per second (the proxy follows the publisher's chunk stream with our parser), from the first keyframe in a
  window to the last, with readers against without. Bytes per second over the same GOPs are in the JSON; a few
  GOPs' sizes differ by a few per cent with the picture, which is not the server's doing. The servers run in turn (CueCast RTMP, nginx-rtmp RTMP,
  CueCast HTTP-FLV), each afresh, with the counts rising.
"""

G2G_NOTE = """- Glass-to-glass on loopback. Our own publisher (`rtmpclient.Publisher`) reads the clip's FLV tags and sends each
  at its time, noting when each video frame's send starts; timing readers (two of each kind) parse the chunk
  stream or the FLV tags and note when each video message is complete. Delay = arrival - send, matched by
  timestamp; frames sent in a reader's first second are left out (CueCast starts a player with the current GOP).
  Publisher and readers are separate processes on the client core, one clock (CLOCK_MONOTONIC).
"""

PUSH_NOTE = """- Push. One publish of the clip by our own publisher (`TCP_NODELAY`, each message written at once, as librtmp
  does) pushed to 1, 4 and 10 targets on an nginx-rtmp sink of its own (on the client core), next to nginx-rtmp's
  own `push` directive doing the same; both servers make TS HLS as well. The CPU goal is read on short turns:
  both servers run, each with its publisher connected and its targets pushing, but one process feeds the clip to
  one server at a time, so each is alone on the server core in its turn. Turns of 12 s change on keyframes (a
  server's timestamps go on where its last turn stopped) and come in blocks of nginx-rtmp, CueCast, CueCast,
  nginx-rtmp and then the other way round; each turn is read on the server's own CPU clock over whole GOPs, from
  its first keyframe 2.5 s in (CueCast drops its receive low watermark after a second without bytes and sets it
  again a second or two after they return) to its end. Each block gives a ratio; the row shows their geometric
  mean and its 95 % interval (Student's t over the blocks). The same measurement of CueCast against a second,
  identical CueCast in nginx-rtmp's place is the control: whatever the method favours one place by shows there.
  The verdict is read on the ratio divided by the control's, with its 95 % interval (Welch's t over both sets of
  blocks, so a noisy control widens it): "yes" when all of it is at or under 1.0×, "no" when all of it is above,
  otherwise "not shown". An idle CueCast still wakes a few times a second (its once-a-second tickers, ~0.3 ms/s)
  during nginx-rtmp's turns; that is not counted against either. Long turns (each server alone for a round, a
  minute after the other) are still run for the delay, the restart and ffmpeg publishing; one such round's ratio
  spreads by ±25 % and more on this VM, so their CPU figure carries no verdict. Running both servers at once was tried and dropped: on one core, a
  server woken less often can ride on the other's wake-ups, a bias no control of two identical servers shows.
"""


def fanout_header(figures):
    text, o = "", figures["options"]
    if any("fanout" in figures[key] for key in ("cuecast", "nginx")):
        counts = o.get("fanout_viewers") or []
        text += (f"Fan-out: one publisher of the clip, then {', '.join(map(str, counts))} readers, "
                 f"{o.get('fanout_seconds', 0):g} s steady window each. ")
    if any("glassToGlass" in figures[key] for key in ("cuecast", "nginx")):
        text += (f"Glass-to-glass: our own publisher at real time and {G2G_READERS} timing readers of each kind, "
                 f"{o.get('g2g_seconds', 0):g} s. ")
    return text


def write_report(figures, options, window, fragment, write_json=True):
    table = report(figures, options)
    m = figures["machine"]
    header = (f"# Benchmarks\n\nCueCast {figures.get('version', '')} next to nginx {m['nginx']} with nginx-rtmp, measured by `scripts/bench"
              f"{' --quick' if options.quick else ''}` on {figures['date']}.\n\n"
              f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}; ffmpeg {m['ffmpeg']}, wrk {m['wrk']}, Swift {m['swift']}. "
              f"Servers pinned to CPU {SERVER_CPU}, publishers, viewers and wrk to CPU {CLIENT_CPU}.\n\n"
              f"Clip: 720p30 H.264 + AAC, ~2.5 Mbit/s, 2 s GOP, published with `ffmpeg -re -stream_loop -1 -c copy`. "
              f"Both servers: {fragment} s segments, {window}-segment window. Remux: {options.warmup:g} s warm-up, then "
              f"{options.duration:g} s measured per publisher count. "
              + ("Delivery: the same test picture encoded at ~6 Mbit/s, so that wrk fetches a ~1.5 MB segment. "
                 if figures["options"].get("delivery_clip") else "")
              + fanout_header(figures)
              + f"Raw figures: `{os.path.basename(options.out_json)}`.\n\n")
    if write_json:
        with open(options.out_json, "w") as f:
            json.dump(figures, f, indent=1, default=str)
    with open(options.out_md, "w") as f:
        notes = NOTES
        if any("fanout" in figures[key] for key in ("cuecast", "nginx")):
            notes += FANOUT_NOTE
        if any("glassToGlass" in figures[key] for key in ("cuecast", "nginx")):
            notes += G2G_NOTE
        if any("push" in figures[key] for key in ("cuecast", "nginx")):
            notes += PUSH_NOTE
        f.write(header + table + "\n" + notes)
    return table


def machine():
    def version(command, pattern):
        try:
            out = subprocess.run(command, capture_output=True, text=True)
            m = re.search(pattern, out.stdout + out.stderr)
            return m.group(1) if m else None
        except OSError:
            return None
    model = re.search(r"Model name:\s+(.*)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
    return {"cpu": model.group(1).strip() if model else platform.processor(), "cores": os.cpu_count(), "kernel": platform.release(),
            "nginx": version(["nginx", "-v"], r"nginx/(\S+)"), "ffmpeg": version(["ffmpeg", "-version"], r"ffmpeg version (\S+)"),
            "wrk": version(["wrk", "-v"], r"wrk (\S+)"), "swift": version(["swift", "--version"], r"Swift version (\S+)")}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--clip", required=True)
    parser.add_argument("--delivery-clip", help="clip published for the delivery workload, whose segment wrk fetches (default: --clip)")
    parser.add_argument("--streams", default="1,10,50", help="publisher counts for the remux workload")
    # A stream's memory is steady once its playlist window (12 s) and the removed segments kept after it (14 s)
    # have filled: 30 s.
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--duration", type=float, default=60, help="steady-state seconds per remux measurement")
    parser.add_argument("--availability-seconds", type=float, default=40)
    parser.add_argument("--availability-streams", type=int, default=4)
    parser.add_argument("--wrk-seconds", type=int, default=3, help="seconds of each wrk run")
    parser.add_argument("--delivery-rounds", type=int, default=8, help="turns each server takes at the wrk runs (the median counts)")
    # 60 s: about 1 200 normal fetches per condition. With 20 s (400), the p99 of the same build moved by -48 to
    # +54 % between runs on this VM.
    parser.add_argument("--slow-seconds", type=float, default=60, help="seconds with and seconds without slow viewers, in two phases each")
    parser.add_argument("--stats-streams", type=int, default=10)
    parser.add_argument("--lowlatency-streams", type=int, default=50,
                        help="publishers for the Low-Latency HLS cost (CMAF rendition on vs off; 0: no run)")
    parser.add_argument("--fanout-viewers", default="100,500,1000",
                        help="reader counts for the fan-out workload, each in its own window (0: no fan-out run)")
    # 20 s: the clip's length, so a window holds the same media wherever it starts.
    parser.add_argument("--fanout-seconds", type=float, default=20, help="steady seconds per fan-out window")
    parser.add_argument("--g2g-seconds", type=float, default=30,
                        help="seconds the glass-to-glass readers are timed per server (0: no glass-to-glass run)")
    parser.add_argument("--push-targets", default="1,4,10",
                        help="target counts for the push workload, each pushed to an nginx-rtmp sink (0: no push run)")
    parser.add_argument("--push-seconds", type=float, default=20, help="seconds the push targets are timed per count and round")
    parser.add_argument("--push-rounds", type=int, default=1,
                        help="rounds per push count in which each server runs alone for --push-seconds, one after "
                             "the other (delay, restart, ffmpeg publishing; CPU summed over them)")
    parser.add_argument("--push-blocks", type=int, default=8,
                        help="blocks of four short turns (nginx-rtmp, CueCast, CueCast, nginx-rtmp, then the other way round) for the push CPU goal, "
                             "per count, and as many for CueCast against a second CueCast (0: none)")
    parser.add_argument("--push-turn-seconds", type=float, default=12,
                        help="seconds of each short turn, at most 12 (whole GOPs of the clip: 2 s; 12 measures 8 s of each turn)")
    parser.add_argument("--push-turn-settle", type=float, default=2.5,
                        help="seconds at the start of each short turn not measured (the server back to its steady state); "
                             "the measurement starts at the next keyframe")
    parser.add_argument("--only", help="run only this workload (memory, push, lowlatency, held or llg2g) and print its figures")
    parser.add_argument("--held-clients", type=int, default=2000, help=f"blocking reloads held at once on {HELD_PART}")
    parser.add_argument("--held-rounds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="turns each server takes per remux measurement (the duration is split)")
    parser.add_argument("--out-md", required=True)
    parser.add_argument("--out-json", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report-only", metavar="JSON", help="write the markdown report again from a run's JSON, measuring nothing")
    options = parser.parse_args()
    if options.push_blocks and not (0 < options.push_turn_settle <= options.push_turn_seconds - 2 and options.push_turn_seconds <= 12):
        # A turn needs a keyframe (2 s GOPs) after its settling; a server is left unfed for two turns at a time, and
        # CueCast closes a publisher silent for 30 s.
        parser.error("--push-turn-settle must be positive and at least 2 s under --push-turn-seconds, which is at most 12")
    options.streams = [int(x) for x in options.streams.split(",")]
    options.fanout_viewers = [int(x) for x in options.fanout_viewers.split(",") if x.strip() and int(x) > 0]
    options.push_targets = [int(x) for x in options.push_targets.split(",") if x.strip() and int(x) > 0]
    if options.report_only:
        with open(options.report_only) as f:
            figures = json.load(f)
        for key in ("streams", "warmup", "duration", "quick", "stats_streams"):
            setattr(options, key, figures["options"][key])
        options.streams = [int(x) for x in options.streams] if isinstance(options.streams, list) else [int(x) for x in options.streams.split(",")]
        print(write_report(figures, options, 6, 2, write_json=False))
        return
    # A thousand readers are a thousand descriptors in the readers' process and in nginx (which inherits this).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536, hard))
    work = tempfile.mkdtemp(prefix="cuecast-bench-")
    window, fragment = 6, 2
    figures = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
               "options": {k: v for k, v in vars(options).items()}, "cuecast": {}, "nginx": {}}
    log(f"work directory {work}")
    # CueCast lets 1000 viewers read a stream by default; a larger fan-out count raises that.
    viewer_limit = ["--max-viewers-per-stream", str(max(options.fanout_viewers))] \
        if options.fanout_viewers and max(options.fanout_viewers) > 1000 else []
    servers = {"cuecast": lambda: CueCast(os.path.join(work, "cuecast"), window, fragment, options.binary, viewer_limit),
               "nginx": lambda: NginxRTMP(os.path.join(work, "nginx"), window, fragment)}
    figures["version"] = subprocess.run([options.binary, "--version"], capture_output=True, text=True).stdout.strip()
    # The two servers take turns at every workload, and remux cost is measured in rounds, so a machine that gets
    # slower or faster during the run (a shared VM does) moves both sides alike.
    made = {key: make() for key, make in servers.items()}
    for key, server in made.items():
        figures[key]["remux"] = {}
        os.makedirs(server.work, exist_ok=True)
        server.prepare(max(options.streams + [options.availability_streams]))

    def on(server, what, run):
        server.start()
        try:
            log(f"{server.name}: {what}")
            return run()
        finally:
            server.stop()

    def push_workload():
        # A single stream's CPU is a few ms a second, and one window's figure swings by a fifth and more between
        # turns a minute apart on a shared VM: the goal is read on short turns in blocks (`push_cost_in_turns`);
        # the long rounds give the delay, the restart and ffmpeg publishing. CueCast runs twice: as it comes (TS HLS and the Low-Latency CMAF rendition of the stream), and with TS
        # HLS alone, the work nginx-rtmp does beside its pushes.
        pushers = dict(made)
        pushers["cuecastTS"] = CueCast(os.path.join(work, "cuecast-ts"), window, fragment, options.binary,
                                       viewer_limit + ["--hls-low-latency", "off"])
        os.makedirs(pushers["cuecastTS"].work, exist_ok=True)
        pushers["cuecastTS"].prepare(1)
        pushers["cuecastTS"].name = "CueCast (TS HLS only)"
        twin = CueCast(os.path.join(work, "cuecast-ts-twin"), window, fragment, options.binary,
                       viewer_limit + ["--hls-low-latency", "off"])
        os.makedirs(twin.work, exist_ok=True)
        twin.prepare(1)
        twin.name = "CueCast (TS HLS only, a second one)"
        figures.setdefault("cuecastTS", {})
        for count in options.push_targets:
            rounds = {key: [] for key in pushers}
            for round_index in range(options.push_rounds):
                for key, server in pushers.items():
                    sink = Sink(server.work)
                    sink.start()
                    if isinstance(server, NginxRTMP):
                        server.push_to = [(sink.port, k) for k in range(count)]
                    try:
                        rounds[key].append(on(
                            server, f"push to {count} nginx-rtmp targets, round {round_index + 1} of {options.push_rounds}, "
                                    f"{options.push_seconds:g} s",
                            lambda: dict(push_cost(server, sink, options.clip, count, options.push_seconds, server.work,
                                                   restart=round_index == 0),
                                         **push_cost_ffmpeg(server, sink, options.clip, count, options.push_seconds, server.work))))
                    finally:
                        server.push_to = []
                        sink.stop()
            for key in pushers:
                figures[key].setdefault("push", {})[str(count)] = merge_push_rounds(rounds[key])
            if options.push_blocks:
                # Short turns, nginx-rtmp against CueCast, then a second CueCast against CueCast: how far two
                # identical servers measured this way differ is the method's own spread.
                log(f"CueCast (TS HLS only) and nginx-rtmp in short turns: push to {count} targets, "
                    f"{options.push_blocks} blocks of four {options.push_turn_seconds:g} s turns")
                entry = {}
                try:
                    entry = push_cost_in_turns({"nginx": made["nginx"], "cuecastTS": pushers["cuecastTS"]}, options.clip,
                                               count, options.push_blocks, options.push_turn_seconds, options.push_turn_settle)
                except Exception as failure:  # reported in its row; the other counts and workloads go on
                    log(f"short turns at {count} targets failed: {failure!r}")
                    entry = {"error": repr(failure)}
                log(f"CueCast (TS HLS only) against a second CueCast in short turns: push to {count} targets")
                try:
                    entry["control"] = push_cost_in_turns({"cuecastTS2": twin, "cuecastTS": pushers["cuecastTS"]}, options.clip,
                                                          count, options.push_blocks, options.push_turn_seconds,
                                                          options.push_turn_settle)
                except Exception as failure:
                    log(f"short turns of the control at {count} targets failed: {failure!r}")
                    entry["control"] = {"error": repr(failure)}
                figures.setdefault("pushTurns", {})[str(count)] = entry

    def remux_rounds(servers, what):
        """Remux figures per server and publisher count, the servers taking turns for `options.rounds` rounds."""
        figures_by_server = {key: {} for key in servers}
        for count in options.streams:
            rounds = {key: [] for key in servers}
            for round_index in range(options.rounds):
                for key, server in servers.items():
                    rounds[key].append(on(server, f"{what}, {count} publishers, round {round_index + 1} of {options.rounds}, "
                                                  f"{options.warmup:g} s warm-up + {options.duration / options.rounds:g} s",
                                          lambda: remux_cost(server, options.clip, count, options.warmup,
                                                             options.duration / options.rounds, server.work)))
            for key in servers:
                figures_by_server[key][str(count)] = combine_rounds(rounds[key])
        return figures_by_server

    def memory_workload():
        # Memory per stream of CueCast as it comes (TS HLS, the LL-HLS CMAF rendition and a GOP kept for players)
        # and of CueCast doing what nginx-rtmp does (TS HLS alone, no GOP kept: nginx-rtmp's players wait for a
        # keyframe), next to nginx-rtmp, taking turns.
        lean = CueCast(os.path.join(work, "cuecast-lean"), window, fragment, options.binary,
                       viewer_limit + ["--gop-cache", "off", "--hls-low-latency", "off"])
        lean.name = "CueCast (TS HLS only, no GOP cache)"
        os.makedirs(lean.work, exist_ok=True)
        lean.prepare(max(options.streams))
        figures["memory"] = remux_rounds({"cuecast": made["cuecast"], "cuecastLean": lean, "nginx": made["nginx"]}, "memory")

    def low_latency_workload():
        log(f"CueCast: Low-Latency HLS on vs off, {options.lowlatency_streams} publishers")
        figures["lowLatency"] = setting_cost(
            "lowlatency", ["--hls-low-latency", "on"], ["--hls-low-latency", "off"], options.binary, work, window, fragment,
            options.clip, options.lowlatency_streams, options.warmup, options.duration, options.rounds)

    def held_reloads_workload():
        server = made["cuecast"]
        log(f"CueCast: {options.held_clients} blocking reloads held on {HELD_PART}, {options.held_rounds} rounds")

        def run():
            publishers = Publishers(options.clip, [server.publish_url(0)], server.work)
            try:
                wait_for_playlists(server, 1, minimum=2)
                time.sleep(2)
                cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
                result = held_reloads(server.http, "live/s0", options.held_clients, options.held_rounds)
                result["cpuSeconds"] = cpu_seconds(server.pid) - cpu0
                result["seconds"] = time.monotonic() - t0
                return result
            finally:
                publishers.stop()
        figures["heldReloads"] = on(server, "held blocking reloads", run)

    if options.only == "llg2g":
        server = made["cuecast"]
        figures["lowLatencyGlassToGlass"] = on(server, f"LL-HLS glass-to-glass, {options.g2g_seconds:g} s",
                                               lambda: low_latency_g2g(server, options.clip, options.g2g_seconds))
        print(json.dumps(figures["lowLatencyGlassToGlass"], indent=1))
        shutil.rmtree(work, ignore_errors=True)
        return
    if options.only == "held":
        held_reloads_workload()
        print(json.dumps(figures["heldReloads"], indent=1))
        shutil.rmtree(work, ignore_errors=True)
        return
    if options.only == "lowlatency":
        low_latency_workload()
        print(json.dumps(figures["lowLatency"], indent=1))
        print(low_latency_line(figures["lowLatency"]))
        shutil.rmtree(work, ignore_errors=True)
        return
    if options.only == "memory":
        memory_workload()
        print(json.dumps(figures["memory"], indent=1))
        print(f"Memory workload, {figures['date']}, {figures['version']}:\n" + memory_table(figures["memory"], options.streams))
        shutil.rmtree(work, ignore_errors=True)
        return
    if options.only == "push":
        push_workload()
        lines = ["| Measure | CueCast | nginx-rtmp | CueCast / nginx | Goal | Met |", "|---|---|---|---|---|---|"]

        def row(name, a, b, goal_text, met, digits=4, unit=""):
            lines.append(f"| {name} | {fmt(a, digits, unit)} | {fmt(b, digits, unit)} | {fmt(ratio(a, b), 3)} | {goal_text} | {met} |")
        push_rows(row, figures["cuecast"].get("push") or {}, figures["nginx"].get("push") or {},
                  figures["cuecastTS"].get("push") or {}, figures.get("pushTurns"))
        print(json.dumps(dict({key: figures[key].get("push") for key in ("cuecast", "cuecastTS", "nginx")},
                              turns=figures.get("pushTurns")), indent=1))
        print(f"Push workload, {figures['date']}, {figures['version']}:\n" + "\n".join(lines) + "\n\n" + PUSH_NOTE)
        shutil.rmtree(work, ignore_errors=True)
        return
    for key, remux in remux_rounds(made, "remux cost").items():
        figures[key]["remux"] = remux
    for key, server in made.items():
        figures[key]["availability"] = on(server, f"segment availability, {options.availability_streams} publishers, "
                                                  f"{options.availability_seconds:g} s",
                                          lambda: asyncio.run(availability(server, options.clip, options.availability_streams,
                                                                           options.availability_seconds, server.work)))
    log(f"delivery with wrk: both servers up, {options.delivery_rounds} rounds of {options.wrk_seconds} s turns")
    deliveries = delivery(made, options.delivery_clip or options.clip, options.wrk_seconds, 100, options.delivery_rounds)
    for key in made:
        figures[key]["delivery"] = combine_deliveries(deliveries[key])
    for key, server in made.items():
        figures[key]["slow"] = on(server, f"50 slow viewers next to {NORMAL_VIEWERS} normal ones",
                                  lambda: asyncio.run(slow_viewers(server, options.clip, NORMAL_VIEWERS, 50, options.slow_seconds, server.work)))
    if options.fanout_viewers:
        counts = ",".join(map(str, options.fanout_viewers))
        for kind in ("rtmp", "flv"):
            for key, server in made.items():
                if kind == "flv" and key != "cuecast":
                    continue  # nginx-rtmp serves no HTTP-FLV
                what = "RTMP players" if kind == "rtmp" else "HTTP-FLV viewers"
                figures[key].setdefault("fanout", {})[kind] = on(
                    server, f"fan-out, one publisher and {counts} {what}, {options.fanout_seconds:g} s windows",
                    lambda: asyncio.run(fanout(server, options.clip, kind, options.fanout_viewers, options.fanout_seconds, server.work)))
    if options.g2g_seconds > 0:
        for key, server in made.items():
            figures[key]["glassToGlass"] = on(server, f"glass-to-glass, {options.g2g_seconds:g} s",
                                              lambda: glass_to_glass(server, options.clip, options.g2g_seconds, server.work))
    if options.push_targets:
        push_workload()
    if options.stats_streams > 0:
        log(f"CueCast: statistics on vs off, {options.stats_streams} publishers")
        figures["stats"] = setting_cost("stats", [], ["--stats", "off"], options.binary, work, window, fragment, options.clip,
                                        options.stats_streams, options.warmup, options.duration, options.rounds, read_stats=True)
    if options.lowlatency_streams > 0:
        low_latency_workload()
    if options.g2g_seconds > 0:
        server = made["cuecast"]
        figures["lowLatencyGlassToGlass"] = on(server, f"LL-HLS glass-to-glass, {options.g2g_seconds:g} s",
                                               lambda: low_latency_g2g(server, options.clip, options.g2g_seconds))
    if options.held_clients > 0:
        held_reloads_workload()
    table = write_report(figures, options, window, fragment)
    print(table)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    # A TERM (a killed run) unwinds like Ctrl-C, so every server and publisher started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()

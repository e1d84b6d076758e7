#!/usr/bin/env python3
"""Soaks a running CueCast: many publishers, viewers and cues for a while, sampling the server as it goes.

Usage: soak.py --pid PID --http URL --rtmp URL --data-dir DIR --cuecast BINARY [--minutes 60] [--scale 1.0]
               [--fixture FLV] [--samples out.json] [--plot out.png]

At scale 1: 50 looping ffmpeg publishers (every tenth drops and republishes at random), 1000 HLS viewers (each
polls its stream's playlist every target duration and fetches each new segment in full), 180 HTTP-FLV viewers and
20 RTMP players (scripts/testing/rtmp_play.py), cues at the server's rate limit (10/s) on ten streams, and for one
minute (from minute 1) a client that sends garbage every 3 s (random bytes; a good handshake, then random chunks).
--scale multiplies the counts (CI runs a 2-minute soak at 0.2).

Every 10 s it samples the server process (RSS, open fds, threads, CPU) and its /metrics error counters. It fails
(exit 1) on: a server that died; a 5xx; a playlist that did not advance for 15 s while its publisher ran; an
acknowledged cue missing from the server's cue log at the end; and, in runs of 10 minutes or more, RSS growing more
than 20 MB/h over the second half or open fds in the last quarter above the second quarter's by more than 5 % + 10. Prints a JSON summary. Shares no
code with CueCast.
"""
import argparse, asyncio, json, os, random, re, signal, socket, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


class Stats:
    def __init__(self):
        self.errors = {}  # kind -> count
        self.status_5xx = []
        self.requests = 0
        self.segments = 0
        self.segment_bytes = 0
        self.flv_bytes = 0
        self.cues_acknowledged = {}  # stream -> set of ids
        self.cues_limited = 0
        self.stalls = []
        self.garbage_connections = 0

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def http(host, port, method, path, body=None, headers=None, conn=None):
    """One HTTP/1.1 request on `conn` (reader, writer) or a new connection; returns (status, body, conn)."""
    if conn is None:
        conn = await asyncio.open_connection(host, port)
    reader, writer = conn
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: cuecast-soak"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value.lower() == "close":
            close = True
    if chunked:
        data = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            data += await reader.readexactly(size)
            await reader.readline()
    else:
        data = await reader.readexactly(length) if length else b""
    if close:
        writer.close()
        conn = None
    return status, data, conn


def playlist_position(text):
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    segments = [l for l in text.splitlines() if l and not l.startswith("#")]
    return (int(m.group(1)) if m else 0) + len(segments), segments


async def hls_viewer(args, stats, stream, stop):
    conn, seen = None, set()
    await asyncio.sleep(random.uniform(0, 4))
    while not stop.is_set():
        try:
            status, body, conn = await http(args.host, args.port, "GET", f"/hls/{stream}/index.m3u8", conn=conn)
            stats.requests += 1
            if status >= 500:
                stats.status_5xx.append((time.time(), stream, status))
            if status == 200:
                _, segments = playlist_position(body.decode())
                for uri in segments[-1:]:
                    if uri in seen:
                        continue
                    seen.add(uri)
                    status, data, conn = await http(args.host, args.port, "GET", f"/hls/{stream}/{uri}", conn=conn)
                    stats.requests += 1
                    if status >= 500:
                        stats.status_5xx.append((time.time(), f"{stream}/{uri}", status))
                    elif status == 200:
                        stats.segments += 1
                        stats.segment_bytes += len(data)
                    elif status != 404:  # a segment that left the window between the two requests
                        stats.error(f"segment {status}")
                if len(seen) > 50:
                    seen = set(list(seen)[-20:])
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
            stats.error(f"hls {type(error).__name__}")
            conn = None
        await asyncio.sleep(2)


async def flv_viewer(args, stats, stream, stop):
    await asyncio.sleep(random.uniform(0, 5))
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(args.host, args.port)
            writer.write(f"GET /{stream}.flv HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split()[1])
            if status >= 500:
                stats.status_5xx.append((time.time(), f"{stream}.flv", status))
            if status != 200:
                writer.close()
                await asyncio.sleep(2)
                continue
            while not stop.is_set():
                data = await reader.read(65536)
                if not data:
                    break  # the publish ended (a flapping publisher); come back
                stats.flv_bytes += len(data)
            writer.close()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as error:
            stats.error(f"flv {type(error).__name__}")
        await asyncio.sleep(1)


async def cue_sender(args, stats, stream, token, stop):
    conn, sequence = None, 0
    acknowledged = stats.cues_acknowledged.setdefault(stream, set())
    while not stop.is_set():
        started = time.monotonic()
        sequence += 1
        cue_id = f"soak-{sequence}"
        body = json.dumps({"id": cue_id, "kind": "announcement", "payload": {"text": f"soak {sequence}"}}).encode()
        try:
            status, _, conn = await http(args.host, args.port, "POST", f"/api/v1/streams/{stream}/cues", body,
                                         {"Authorization": f"Bearer {token}"}, conn)
            stats.requests += 1
            if status in (200, 201):
                acknowledged.add(cue_id)
            elif status == 429:
                stats.cues_limited += 1
            elif status >= 500:
                stats.status_5xx.append((time.time(), f"cue {stream}", status))
            elif status not in (404, 409):  # a stream between publishes has no live publish to bind to (409)
                stats.error(f"cue {status}")
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
            stats.error(f"cue {type(error).__name__}")
            conn = None
        await asyncio.sleep(max(0, 0.1 - (time.monotonic() - started)))


async def garbage(args, stats, stop):
    """From minute 1, for one minute: every 3 s a connection that sends garbage."""
    await asyncio.sleep(min(60, args.minutes * 60 / 4))
    until = time.monotonic() + 60
    while time.monotonic() < until and not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(args.rtmp_host, args.rtmp_port)
            if random.random() < 0.5:
                writer.write(os.urandom(random.randint(1, 8192)))
            else:
                writer.write(b"\x03" + bytes(1536))
                await writer.drain()
                await reader.readexactly(1 + 1536 * 2)
                writer.write(bytes(1536) + os.urandom(random.randint(1, 65536)))
            await writer.drain()
            await asyncio.sleep(0.5)
            writer.close()
            stats.garbage_connections += 1
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            stats.garbage_connections += 1
        await asyncio.sleep(3)


class Publisher:
    def __init__(self, args, stream, key, flaps):
        self.args, self.stream, self.key, self.flaps = args, stream, key, flaps
        self.process, self.down_since, self.restarts = None, None, 0

    def start(self):
        self.process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", self.args.fixture,
             "-c", "copy", "-f", "flv", f"{self.args.rtmp}/{self.stream}?key={self.key}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.started = time.monotonic()
        self.down_since = None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.down_since = time.monotonic()

    async def flap(self, stop):
        while not stop.is_set():
            await asyncio.sleep(random.uniform(30, 90) if self.flaps else 5)
            if self.flaps:
                self.stop()
                await asyncio.sleep(random.uniform(1, 5))
                self.start()
                self.restarts += 1
            elif not self.running():
                self.start()  # an unexpected exit: counted, and the stall check sees the gap
                self.restarts += 1


async def playlist_watch(args, stats, publisher, stop):
    """A playlist must advance while its publisher runs: 15 s without a new segment is a stall."""
    last_position, last_change, conn = None, time.monotonic(), None
    while not stop.is_set():
        await asyncio.sleep(2)
        try:
            status, body, conn = await http(args.host, args.port, "GET", f"/hls/{publisher.stream}/index.m3u8", conn=conn)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            conn = None
            continue
        now = time.monotonic()
        position = playlist_position(body.decode())[0] if status == 200 else None
        if position != last_position:
            last_position, last_change = position, now
        # Only while the publisher has been up for a while (a republish needs its first segment).
        if publisher.running() and now - publisher.started > 15 and now - last_change > 15:
            stats.stalls.append({"stream": publisher.stream, "at": time.time(), "position": position})
            last_change = now


def sample(pid, http_base):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    rss = int(open(f"/proc/{pid}/statm").read().split()[1]) * PAGE
    status = open(f"/proc/{pid}/status").read()
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    # The process's own memory (heap, stacks), without the pages of the binary and libraries it maps.
    anon = int(re.search(r"RssAnon:\s+(\d+)", status).group(1)) * 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    counters = {}
    try:
        with socket.create_connection((http_base[0], http_base[1]), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            text = b""
            while chunk := s.recv(65536):
                text += chunk
        for line in text.decode().splitlines():
            for name in ["cuecast_stream_ingest_dropped_messages", "cuecast_stream_hls_dropped_frames_total",
                         "cuecast_stream_timestamp_repairs_total", "cuecast_publish_refused_total", "cuecast_rtmp_connections",
                         "cuecast_http_connections", "cuecast_live_streams"]:
                if line.startswith(name):
                    counters[name] = counters.get(name, 0) + float(line.rsplit(" ", 1)[1])
    except OSError:
        counters["metrics_unreachable"] = 1
    return {"time": time.time(), "cpu_seconds": cpu, "rss_bytes": rss, "rss_anon_bytes": anon, "threads": threads, "fds": fds, "counters": counters}


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, per hour."""
    n = len(points)
    if n < 3:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    return 0.0 if var == 0 else sum((p[0] - mx) * (p[1] - my) for p in points) / var * 3600


async def verify_cues(args, stats, token):
    missing = {}
    for stream, acknowledged in stats.cues_acknowledged.items():
        found, after, conn = set(), 0, None
        while True:
            status, body, conn = await http(args.host, args.port, "GET", f"/api/v1/streams/{stream}/cues?after={after}&limit=1000",
                                            headers={"Authorization": f"Bearer {token}"}, conn=conn)
            if status != 200:
                missing[stream] = f"listing answered {status}"
                break
            page = json.loads(body)
            found.update(c["id"] for c in page["cues"])
            if not page.get("next"):
                break
            after = page["cues"][-1]["sequence"]
        lost = acknowledged - found
        if lost:
            missing[stream] = sorted(lost)[:10] + ([f"… {len(lost)} in all"] if len(lost) > 10 else [])
    return missing


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--http", required=True)
    parser.add_argument("--rtmp", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--cuecast", required=True)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--fixture", default=os.path.join(HERE, "..", "..", "Fixtures", "bframes-h264-aac.flv"))
    parser.add_argument("--samples")
    parser.add_argument("--plot")
    args = parser.parse_args()
    args.host, args.port = args.http.split("//")[1].split(":")[0], int(args.http.rsplit(":", 1)[1])
    args.rtmp_host, args.rtmp_port = args.rtmp.split("//")[1].split(":")[0], int(args.rtmp.rsplit(":", 1)[1])
    token = open(os.path.join(args.data_dir, "admin-token")).read().strip()
    count = lambda n: max(1, round(n * args.scale))
    stats, stop = Stats(), asyncio.Event()

    publishers = []
    for i in range(count(50)):
        stream = f"soak/s{i}"
        key = subprocess.run([args.cuecast, "keys", "add", stream, "--quiet", "--data-dir", args.data_dir],
                             check=True, capture_output=True, text=True).stdout.strip()
        publishers.append(Publisher(args, stream, key, flaps=(i % 10 == 9)))
    for p in publishers:
        p.start()
    await asyncio.sleep(8)  # first segments

    tasks = [asyncio.create_task(p.flap(stop)) for p in publishers]
    tasks += [asyncio.create_task(playlist_watch(args, stats, p, stop)) for p in publishers]
    tasks += [asyncio.create_task(hls_viewer(args, stats, publishers[i % len(publishers)].stream, stop)) for i in range(count(1000))]
    tasks += [asyncio.create_task(flv_viewer(args, stats, publishers[i % len(publishers)].stream, stop)) for i in range(count(180))]
    tasks += [asyncio.create_task(cue_sender(args, stats, publishers[i].stream, token, stop)) for i in range(min(len(publishers), count(10)))]
    tasks.append(asyncio.create_task(garbage(args, stats, stop)))
    players = [subprocess.Popen([sys.executable, os.path.join(HERE, "rtmp_play.py"), f"{args.rtmp}/{publishers[i % len(publishers)].stream}",
                                 "--seconds", str(int(args.minutes * 60) + 30)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(count(20))]

    samples, started, died = [], time.time(), False
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline:
        try:
            samples.append(sample(args.pid, (args.host, args.port)))
        except FileNotFoundError:
            died = True
            break
        await asyncio.sleep(min(10, max(0, deadline - time.monotonic())))
    if not died:
        try:
            samples.append(sample(args.pid, (args.host, args.port)))
        except FileNotFoundError:
            died = True
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for p in publishers:
        p.stop()
    for player in players:
        player.kill()
    missing = {} if died else await verify_cues(args, stats, token)

    # Growth over the run, leaving out the first quarter (warm-up: windows fill, buffers reach size).
    rel = [(s["time"] - started, s) for s in samples]
    half = [(t, s["rss_bytes"] / 1e6) for t, s in rel if t >= args.minutes * 30]
    rss_slope = slope_per_hour(half)
    quarter = max(1, len(samples) // 4)
    fds_early = sum(s["fds"] for s in samples[quarter:2 * quarter]) / max(1, len(samples[quarter:2 * quarter]))
    fds_late = sum(s["fds"] for s in samples[-quarter:]) / quarter if samples else 0
    cpu = [(b["cpu_seconds"] - a["cpu_seconds"]) / (b["time"] - a["time"]) * 100 for a, b in zip(samples, samples[1:])]
    failures = []
    if died:
        failures.append("the server died")
    if stats.status_5xx:
        failures.append(f"{len(stats.status_5xx)} answers were 5xx")
    if stats.stalls:
        failures.append(f"{len(stats.stalls)} playlist stalls while publishing")
    if missing:
        failures.append(f"acknowledged cues missing: {missing}")
    if args.minutes >= 10 and rss_slope > 20:
        failures.append(f"RSS grows {rss_slope:.1f} MB/h over the second half")
    # Growth needs a long run to tell from the swing of flapping publishers and reconnecting viewers (±5 %).
    if args.minutes >= 10 and fds_late > fds_early * 1.05 + 10:
        failures.append(f"open fds grew from {fds_early:.0f} to {fds_late:.0f}")
    summary = {
        "minutes": args.minutes, "scale": args.scale, "publishers": len(publishers),
        "flapping_restarts": sum(p.restarts for p in publishers if p.flaps), "hls_viewers": count(1000), "flv_viewers": count(180),
        "rtmp_players": len(players), "requests": stats.requests, "segments": stats.segments,
        "segment_megabytes": round(stats.segment_bytes / 1e6, 1), "flv_megabytes": round(stats.flv_bytes / 1e6, 1),
        "cues_acknowledged": sum(len(v) for v in stats.cues_acknowledged.values()), "cues_rate_limited": stats.cues_limited,
        "garbage_connections": stats.garbage_connections, "client_errors": stats.errors, "status_5xx": stats.status_5xx[:20],
        "stalls": stats.stalls[:20], "rss_mb_first": round(samples[0]["rss_bytes"] / 1e6, 1) if samples else None,
        "rss_mb_last": round(samples[-1]["rss_bytes"] / 1e6, 1) if samples else None, "rss_mb_per_hour_second_half": round(rss_slope, 1),
        "rss_mb_max": round(max(s["rss_bytes"] for s in samples) / 1e6, 1) if samples else None,
        "rss_anon_mb_first": round(samples[0]["rss_anon_bytes"] / 1e6, 1) if samples else None,
        "rss_anon_mb_last": round(samples[-1]["rss_anon_bytes"] / 1e6, 1) if samples else None,
        "fds_second_quarter": round(fds_early), "fds_last_quarter": round(fds_late),
        "threads": [samples[0]["threads"], samples[-1]["threads"]] if samples else None,
        "cpu_percent_mean": round(sum(cpu) / len(cpu), 1) if cpu else None, "cpu_percent_max": round(max(cpu), 1) if cpu else None,
        "counters_last": samples[-1]["counters"] if samples else {}, "failures": failures,
    }
    if args.samples:
        json.dump({"summary": summary, "samples": samples, "started": started}, open(args.samples, "w"), indent=1)
    if args.plot and samples:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        minutes = [(s["time"] - started) / 60 for s in samples]
        figure, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
        for axis, values, label in [
            (axes[0], [s["rss_bytes"] / 1e6 for s in samples], "RSS (MB)"), (axes[1], [s["fds"] for s in samples], "open fds"),
            (axes[2], [s["threads"] for s in samples], "threads"), (axes[3], [0] + cpu, "CPU (% of a core)"),
        ]:
            axis.plot(minutes, values)
            axis.set_ylabel(label)
            axis.grid(True, alpha=0.3)
        axes[-1].set_xlabel("minutes")
        figure.suptitle(f"CueCast soak: {len(publishers)} publishers, {count(1000)} HLS + {count(180)} FLV viewers, {len(players)} RTMP players")
        figure.tight_layout()
        figure.savefig(args.plot, dpi=90)
    print(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

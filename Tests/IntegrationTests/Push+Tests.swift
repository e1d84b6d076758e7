import Foundation
import Media
import NIOCore
import NIOPosix
@testable import Push
import StreamHub
import Testing
import TestSupport

/// Simulcast: one publish pushed on to real RTMP servers (nginx-rtmp, a second CueCast), read back through their
/// own outputs; targets that go away, refuse the key or never read; the key kept out of every answer and log.
extension LongRealTimeTests {
@Suite struct PushTests {
    /// An nginx-rtmp on a free port with `application live { live on; }` (and whatever else `extra` adds).
    static func nginx(port: Int, rtmpExtra: String = "", http: String = "") throws -> Nginx {
        try Nginx.start(
            """
            events {}
            \(http)
            rtmp { server { listen 127.0.0.1:\(port); chunk_size 4096; application live { live on; \(rtmpExtra) } } }
            """, rtmpModule: true)
    }

    /// The frames received are the fixture's from one of its keyframes on: same count from there, same spacing,
    /// composition offsets and keyframes, frame by frame, and audio alongside. Returns the video frames received.
    static func expectSuffix(_ events: [StreamEvent], of facts: FixtureFacts, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let video = events.frames(.video)
        guard let first = video.first, video.count <= facts.video.count else {
            Issue.record("no frames, or more than the fixture has: \(video.count)", sourceLocation: sourceLocation)
            return 0
        }
        let expected = Array(facts.video.suffix(video.count))
        #expect(expected.first?.isKeyframe == true, "starts at a keyframe of the fixture", sourceLocation: sourceLocation)
        let got = video.map { ($0.dts - first.dts, $0.pts - $0.dts, $0.isKeyframe) }
        let want = expected.map { ($0.dtsMilliseconds - expected[0].dtsMilliseconds, $0.ptsMilliseconds - $0.dtsMilliseconds, $0.isKeyframe) }
        #expect(zip(got, want).allSatisfy { $0 == $1 }, "frames differ from the fixture's", sourceLocation: sourceLocation)
        #expect(events.frames(.audio).count >= facts.audio.count * video.count / facts.video.count - 50, "audio alongside", sourceLocation: sourceLocation)
        return video.count
    }

    struct Target {
        var id: String
        var json: [String: Any]
        var state: String { json["state"] as? String ?? "" }
        var history: [String] { json["history"] as? [String] ?? [] }
    }

    static func addTarget(_ server: TestServer, stream: String, url: String, name: String) async throws -> Target {
        let body = try String(decoding: JSONSerialization.data(withJSONObject: ["url": url, "name": name]), as: UTF8.self)
        let answer = try await server.request(.POST, "/api/v1/streams/\(stream)/pushes", body: body)
        #expect(answer.status == 201, "\(answer.body)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        return Target(id: try #require(json["id"] as? String), json: json)
    }

    static func target(_ server: TestServer, stream: String, id: String) async throws -> Target? {
        let answer = try await server.request(.GET, "/api/v1/streams/\(stream)/pushes")
        let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        let targets = json?["pushes"] as? [[String: Any]] ?? []
        return targets.first { $0["id"] as? String == id }.map { Target(id: id, json: $0) }
    }

    static func waitFor(_ state: String, _ server: TestServer, stream: String, id: String, timeout: Double = 20) async throws -> Target {
        var last: Target?
        do {
            try await server.eventually(timeout: timeout, "push \(id) to be \(state)") {
                last = try await target(server, stream: stream, id: id)
                return last?.state == state
            }
        } catch {
            Issue.record("push \(id): \(last?.json ?? [:])")
            throw error
        }
        return try #require(last)
    }

    /// Reads `url` with ffmpeg for `seconds` and returns the video frames ffprobe counts in what arrived.
    static func framesThrough(_ url: String, seconds: Int, into dir: TemporaryDirectory, name: String) async throws -> Int {
        let file = "\(dir.path)/\(name).flv"
        var output: Tool.Output?
        for _ in 0..<10 where output?.status != 0 {
            output = try await Tool("ffmpeg").run(
                ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", url, "-t", "\(seconds)", "-c", "copy", "-f", "flv", "-y", file],
                timeout: 60, requireSuccess: false)
            if output?.status != 0 { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(output?.status == 0, "\(output?.stderr ?? "")")
        return try await FFprobe.packets(of: file).videoCount
    }

    /// nginx-rtmp and a second CueCast as targets of one publish: each gets the stream from its first keyframe,
    /// nothing lost or duplicated, and the key never shows.
    @Test func pushesToNginxRTMPAndASecondCueCast() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        let port = try await Nginx.freePort()
        let nginx = try Self.nginx(port: port, rtmpExtra: "record all; record_path <dir>; record_unique off;")
        defer { nginx.stop() }
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { second in
        let secondKey = try await second.server.keys.add(stream: "live/relay")
        let received = second.record(StreamPath("live/relay")!)
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let nginxKey = "nginx-secret-0123456789"
            let toNginx = try await Self.addTarget(server, stream: "live/show", url: "rtmp://127.0.0.1:\(port)/live/\(nginxKey)", name: "nginx")
            let toSecond = try await Self.addTarget(
                server, stream: "live/show", url: "\(second.rtmpBase)/live/relay?key=\(secondKey)", name: "second")
            #expect(toNginx.state == "idle", "on, waiting for the stream")
            #expect(toNginx.json["url"] as? String == "rtmp://127.0.0.1:\(port)/live/ng…89")
            let secret = try await server.server.keys.add(stream: "live/show")
            _ = try await ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/show?key=\(secret)")
            let lastState = try await Self.target(server, stream: "live/show", id: toNginx.id)
            #expect(lastState?.history.contains("live") == true, "\(lastState?.json ?? [:])")
            #expect((lastState?.json["bytesSent"] as? Int ?? 0) > 100_000)

            // The second CueCast received the fixture from the keyframe current when the push went live on:
            // every frame after it, none twice. nginx recorded as much.
            let relayed = Self.expectSuffix(await received.value, of: facts)
            #expect(relayed >= facts.video.count / 2, "the push went live within the first half of the clip: \(relayed) frames")
            try await server.eventually("nginx's recording to be complete") {
                let packets = try? await FFprobe.packets(of: "\(nginx.directory.path)/\(nginxKey).flv")
                return (packets?.videoCount ?? 0) >= facts.video.count / 2 && packets?.firstVideo?.isKeyframe == true
            }
            // Past the grace period the targets unpublish and wait for the next publish.
            _ = try await Self.waitFor("idle", server, stream: "live/show", id: toSecond.id)

            // The keys never show: not in the API, not in /metrics, not in the log.
            let api = try await server.request(.GET, "/api/v1/streams/live/show/pushes").body
            let metrics = try await server.request(.GET, "/metrics").body
            for key in [nginxKey, secondKey] {
                #expect(!api.contains(key))
                #expect(!metrics.contains(key))
                #expect(!server.logs.all.contains { $0.contains(key) }, "a log line shows a key")
            }
            #expect(metrics.contains("cuecast_push_sent_bytes_total{stream=\"live/show\",target=\"\(toNginx.id)\"}"))
        }
        }
    }

    /// A target that goes away mid-publish comes back by itself: live → retrying → connecting → live, and its
    /// output goes on; a refused key is `failed` with the refusal in `lastError`.
    @Test func aTargetThatGoesAwayComesBackAndARefusedKeyFails() async throws {
        let port = try await Nginx.freePort()
        let hookPort = try await Nginx.freePort()
        let refusing = try await Nginx.freePort()
        var nginx = try Self.nginx(port: port)
        // A second nginx whose on_publish hook answers 403.
        let denying = try Self.nginx(
            port: refusing, rtmpExtra: "on_publish http://127.0.0.1:\(hookPort)/deny;",
            http: "http { access_log off; server { listen 127.0.0.1:\(hookPort); location /deny { return 403; } } }")
        defer { denying.stop() }
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let comeback = try await Self.addTarget(server, stream: "live/loop", url: "rtmp://127.0.0.1:\(port)/live/k1", name: "comeback")
            let refused = try await Self.addTarget(
                server, stream: "live/loop", url: "rtmp://127.0.0.1:\(refusing)/live/k2", name: "refused")
            let publish = try await server.publishLive(StreamPath("live/loop")!, loops: -1)
            defer { publish.cancel() }
            _ = try await Self.waitFor("live", server, stream: "live/loop", id: comeback.id)
            let failed = try await Self.waitFor("failed", server, stream: "live/loop", id: refused.id)
            #expect((failed.json["lastError"] as? String)?.contains("NetStream.Publish") == true, "\(failed.json)")

            nginx.stop()
            _ = try await Self.waitFor("retrying", server, stream: "live/loop", id: comeback.id)
            // While it is down, the next attempts say why in a few words, not NIO's nested error descriptions.
            try await server.eventually(timeout: 30, "a refused connect in lastError") {
                try await server.request(.GET, "/api/v1/streams/live/loop/pushes").body
                    .contains("\"lastError\":\"connecting to 127.0.0.1:\(port): connection refused\"")
            }
            nginx = try Self.nginx(port: port)
            defer { nginx.stop() }
            let back = try await Self.waitFor("live", server, stream: "live/loop", id: comeback.id, timeout: 30)
            let history = back.history
            let tail = Array(history.suffix(from: try #require(history.firstIndex(of: "live"))))
            #expect(tail.starts(with: ["live", "retrying"]), "\(history)")
            #expect(tail.suffix(2) == ["connecting", "live"], "\(history)")
            #expect(back.json["reconnects"] as? Int ?? 0 >= 1)
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let frames = try await Self.framesThrough("rtmp://127.0.0.1:\(port)/live/k1", seconds: 2, into: dir, name: "back")
            #expect(frames >= 30, "media flows through the restarted target: \(frames) frames")
        }
    }

    /// Each target's connection runs on its publisher's event loop, whichever loop its session was made on: a session
    /// made elsewhere hands over to a successor there before it connects. The hand-over is invisible: no reconnect
    /// counted, the history a plain idle → connecting → live, and media flows.
    /// With a single loop (one CPU) there is nothing to move between, so the test needs two.
    @Test(.enabled(if: Array(MultiThreadedEventLoopGroup.singleton.makeIterator()).count >= 2, "one event loop: nothing to move between"))
    func targetsMoveToThePublishersEventLoop() async throws {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let port = try await Nginx.freePort()
        let nginx = try Self.nginx(port: port)
        defer { nginx.stop() }
        try await withServer { server in
            // Targets until every loop has one, so whichever loop the publisher lands on, some target starts on
            // another. Round-robin alone does not promise it: each API request's connection takes the next loop
            // too, so one add after another can land every session on the same loop; a request in between shifts
            // the turn.
            var targets: [Target] = []
            var before: [any EventLoop] = []
            for k in 0..<32 where !loops.allSatisfy({ loop in before.contains { $0 === loop } }) {
                let target = try await Self.addTarget(server, stream: "live/moves", url: "rtmp://127.0.0.1:\(port)/live/m\(k)", name: "m\(k)")
                targets.append(target)
                before.append(try #require(server.server.pushes.session(id: target.id)).eventLoop)
                if k % 2 == 0 { _ = try await server.request(.GET, "/healthz", token: .some(nil)) }
            }
            #expect(loops.allSatisfy { loop in before.contains { $0 === loop } }, "a target on every loop")
            let path = try #require(StreamPath("live/moves"))
            let publish = try await server.publishLive(path, loops: -1)
            defer { publish.cancel() }
            for target in targets {
                let live = try await Self.waitFor("live", server, stream: "live/moves", id: target.id)
                #expect(live.history == ["idle", "connecting", "live"], "\(live.json)")
                #expect(live.json["reconnects"] as? Int == 0, "\(live.json)")
            }
            let stream = try #require(server.server.hub.stream(path))
            #expect(before.contains { $0 !== stream.eventLoop }, "some target was made on another loop than the publisher's")
            for target in targets {
                let session = try #require(server.server.pushes.session(id: target.id))
                #expect(session.eventLoop === stream.eventLoop, "push \(target.id) runs on the publisher's loop")
            }
            #expect(server.logs.contains("push moved to the publisher's event loop"))
            // Added while live, until one was made on another loop than the publisher's and moved there: each
            // answer shows the connection under way, not the `idle` of a session that has not started yet.
            let movesBefore = server.logs.all.filter { $0.contains("push moved to the publisher's event loop") }.count
            for k in 0..<32 where server.logs.all.filter({ $0.contains("push moved to the publisher's event loop") }).count == movesBefore {
                if k % 2 == 1 { _ = try await server.request(.GET, "/healthz", token: .some(nil)) }  // shifts the turn, as above
                let late = try await Self.addTarget(server, stream: "live/moves", url: "rtmp://127.0.0.1:\(port)/live/late\(k)", name: "late\(k)")
                #expect(["connecting", "live"].contains(late.state), "\(late.json)")
                _ = try await Self.waitFor("live", server, stream: "live/moves", id: late.id)
                let off = try await server.request(.PATCH, "/api/v1/streams/live/moves/pushes/\(late.id)", body: "{\"enabled\": false}")
                #expect(off.body.contains("\"state\":\"disabled\""), "\(off.body)")
                let on = try await server.request(.PATCH, "/api/v1/streams/live/moves/pushes/\(late.id)", body: "{\"enabled\": true}")
                #expect(on.body.contains("\"state\":\"connecting\"") || on.body.contains("\"state\":\"live\""), "\(on.body)")
            }
            #expect(server.logs.all.filter { $0.contains("push moved to the publisher's event loop") }.count > movesBefore, "a late target moved")
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let frames = try await Self.framesThrough("rtmp://127.0.0.1:\(port)/live/m0", seconds: 2, into: dir, name: "moved")
            #expect(frames >= 30, "media flows through a moved target: \(frames) frames")
        }
    }

    /// Three targets, one a black hole (`scripts/testing/rtmp_blackhole.py`: it accepts the publish, then never
    /// reads again). The black hole falls behind in its own queue, drops whole GOPs (counted) and is reconnected
    /// past the lag limit; over 30 s, the two others get live media in real time and HLS keeps advancing.
    @Test func aBlackHoleTargetTroublesNoOne() async throws {
        let port = try await Nginx.freePort()
        let nginx = try Self.nginx(port: port)
        defer { nginx.stop() }
        let hole = Process()
        hole.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        hole.arguments = ["python3", Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/rtmp_blackhole.py").path]
        let pipe = Pipe()
        hole.standardOutput = pipe
        try hole.run()
        defer {
            kill(hole.processIdentifier, SIGKILL)
            hole.waitForExit()
        }
        let holePort = try #require(Int(String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.viewers.maxLagSeconds = 3
        }) { server in
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let good = [
                try await Self.addTarget(server, stream: "live/bh", url: "rtmp://127.0.0.1:\(port)/live/good1", name: "good1"),
                try await Self.addTarget(server, stream: "live/bh", url: "rtmp://127.0.0.1:\(port)/live/good2", name: "good2"),
            ]
            let blackHole = try await Self.addTarget(server, stream: "live/bh", url: "rtmp://127.0.0.1:\(holePort)/live/none", name: "hole")
            // 8 Mbit/s, so the black hole's socket buffers (1 MB on CueCast's side) fill within seconds.
            let clip = try await highBitrateClip(in: dir.path)
            let secret = try await server.server.keys.add(stream: "live/bh")
            let publish = Task {
                try await Tool("ffmpeg").run(
                    ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "flv",
                     "\(server.rtmpBase)/live/bh?key=\(secret)"], timeout: 300, requireSuccess: false)
            }
            defer { publish.cancel() }
            for target in good { _ = try await Self.waitFor("live", server, stream: "live/bh", id: target.id) }
            _ = try await Self.waitFor("live", server, stream: "live/bh", id: blackHole.id)
            // The newest segment's number: media sequence plus the segments listed.
            func sequence() async throws -> Int {
                let playlist = try await server.request(.GET, "/hls/live/bh/index.m3u8").body
                return (mediaSequence(of: playlist) ?? 0) + entries(of: playlist).count
            }
            let sequenceBefore = try await sequence()
            let start = Date()
            async let first = Self.framesThrough("rtmp://127.0.0.1:\(port)/live/good1", seconds: 30, into: dir, name: "good1")
            async let second = Self.framesThrough("rtmp://127.0.0.1:\(port)/live/good2", seconds: 30, into: dir, name: "good2")
            let frames = try await [first, second]
            let elapsed = Date().timeIntervalSince(start)
            // 30 s of media read live takes about 30 s; a publisher held back by the black hole would give far less.
            #expect(frames.allSatisfy { $0 >= 30 * 30 * 3 / 4 } && elapsed < 50, "the good targets kept real time: \(frames) frames in \(elapsed) s")
            // 2 s segments: 15 in 30 s at real time.
            #expect(try await sequence() >= sequenceBefore + 10, "HLS kept advancing")
            var seen: Target?
            do {
                try await server.eventually(timeout: 40, "the black hole to be dropped behind and reconnected") {
                    seen = try await Self.target(server, stream: "live/bh", id: blackHole.id)
                    return (seen?.json["framesDropped"] as? Int ?? 0) > 0 && (seen?.json["reconnects"] as? Int ?? 0) >= 1
                }
            } catch {
                Issue.record("black hole target: \(seen?.json ?? [:])")
                throw error
            }
            #expect((seen?.json["lastError"] as? String)?.contains("not keeping up") == true, "\(seen?.json ?? [:])")
        }
    }

    /// RTMPS through nginx's `stream` module terminating TLS in front of nginx-rtmp, with a CA the test makes:
    /// trusted through `push-ca-file` the push goes live and nginx gets the media; without it the certificate
    /// is refused and `lastError` says so.
    @Test func rtmpsWithAPrivateCAAndWithout() async throws {
        let certs = try TemporaryDirectory()
        defer { certs.remove() }
        try await TestCertificates.make(in: certs.path)
        let rtmpPort = try await Nginx.freePort()
        let tlsPort = try await Nginx.freePort()
        let nginx = try Nginx.start(
            """
            events {}
            rtmp { server { listen 127.0.0.1:\(rtmpPort); application live { live on; } } }
            stream { server { listen 127.0.0.1:\(tlsPort) ssl; ssl_certificate \(certs.path)/server.pem;
                ssl_certificate_key \(certs.path)/server.key; proxy_pass 127.0.0.1:\(rtmpPort); } }
            """, rtmpModule: true, streamModule: true)
        defer { nginx.stop() }
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.pushCAFile = "\(certs.path)/ca.pem"
        }) { server in
            let trusted = try await Self.addTarget(server, stream: "live/tls", url: "rtmps://localhost:\(tlsPort)/live/secure", name: "tls")
            let publish = try await server.publishLive(StreamPath("live/tls")!, loops: -1)
            defer { publish.cancel() }
            let live = try await Self.waitFor("live", server, stream: "live/tls", id: trusted.id)
            #expect(live.json["url"] as? String == "rtmps://localhost:\(tlsPort)/live/…")
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let frames = try await Self.framesThrough("rtmp://127.0.0.1:\(rtmpPort)/live/secure", seconds: 2, into: dir, name: "tls")
            #expect(frames >= 30, "media through TLS: \(frames) frames")
        }
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let untrusted = try await Self.addTarget(server, stream: "live/tls2", url: "rtmps://localhost:\(tlsPort)/live/secure2", name: "tls")
            let publish = try await server.publishLive(StreamPath("live/tls2")!, loops: -1)
            defer { publish.cancel() }
            let retrying = try await Self.waitFor("retrying", server, stream: "live/tls2", id: untrusted.id)
            let error = (retrying.json["lastError"] as? String ?? "").lowercased()
            #expect(error.contains("certificate"), "\(retrying.json)")
        }
    }

    /// A target on a stream with no active key is stored, with a note saying the stream cannot publish yet; one on
    /// a stream with a key has no note. `/api/v1/pushes` lists every stream's targets, keys masked.
    @Test func everyStreamsTargetsAndTheNoteOfAKeylessStream() async throws {
        try await withServer { server in
            let keyless = try await Self.addTarget(server, stream: "live/nokey", url: "rtmp://127.0.0.1:1/live/nokey-secret-1", name: "a")
            let note = keyless.json["note"] as? String ?? ""
            #expect(note.contains("live/nokey has no active stream key") && note.contains("cuecast keys add live/nokey"), "\(keyless.json)")
            #expect(keyless.json["state"] as? String == "idle" && keyless.json["stream"] as? String == "live/nokey", "\(keyless.json)")
            _ = try await server.server.keys.add(stream: "live/keyed")
            let keyed = try await Self.addTarget(server, stream: "live/keyed", url: "rtmp://127.0.0.1:1/live/keyed-secret-2", name: "b")
            #expect(keyed.json["note"] == nil, "\(keyed.json)")
            // A revoked key is no key.
            try await server.server.keys.revoke(stream: "live/keyed")
            let revoked = try await Self.addTarget(server, stream: "live/keyed", url: "rtmp://127.0.0.1:1/live/keyed-secret-3", name: "c")
            #expect((revoked.json["note"] as? String)?.contains("live/keyed has no active stream key") == true, "\(revoked.json)")

            let all = try await server.request(.GET, "/api/v1/pushes")
            #expect(all.status == 200)
            let listed = (try JSONSerialization.jsonObject(with: Data(all.body.utf8)) as? [String: Any])?["pushes"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["id"] as? String ?? "" } == [keyed.id, revoked.id, keyless.id], "ordered by stream, then age: \(all.body)")
            #expect(listed.map { $0["stream"] as? String ?? "" } == ["live/keyed", "live/keyed", "live/nokey"])
            #expect(!all.body.contains("secret") && all.body.contains("rtmp://127.0.0.1:1/live/no…-1"), "\(all.body)")
            // Both streams lack an active key now (live/keyed's was revoked): a note for each, by stream.
            let notes = (try JSONSerialization.jsonObject(with: Data(all.body.utf8)) as? [String: Any])?["notes"] as? [String: String] ?? [:]
            #expect(notes.keys.sorted() == ["live/keyed", "live/nokey"], "\(all.body)")
            #expect(notes["live/nokey"]?.contains("cuecast keys add live/nokey") == true, "\(all.body)")
            // One stream's list carries the note too, while the stream has no key.
            let one = try await server.request(.GET, "/api/v1/streams/live/nokey/pushes").body
            #expect(one.contains("\"note\":\"live/nokey has no active stream key"), "\(one)")
            _ = try await server.server.keys.add(stream: "live/nokey")
            #expect(!(try await server.request(.GET, "/api/v1/streams/live/nokey/pushes").body.contains("\"note\"")))
            let after = try await server.request(.GET, "/api/v1/pushes").body
            let notesAfter = (try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [String: Any])?["notes"] as? [String: String] ?? [:]
            #expect(notesAfter.keys.sorted() == ["live/keyed"], "\(after)")
            // A path the API does not have (the app left out) gets the API's JSON error, not a bare 404.
            let stray = try await server.request(.POST, "/api/v1/streams/nokey/pushes", body: "{\"url\": \"rtmp://h/a/k\"}")
            #expect(stray.status == 404)
            let error = (try JSONSerialization.jsonObject(with: Data(stray.body.utf8)) as? [String: Any])?["error"] as? [String: Any]
            let message = error?["message"] as? String ?? ""
            #expect(message.contains("no API operation POST /api/v1/streams/nokey/pushes") && message.contains("<app>/<name>"), "\(stray.body)")
        }
    }

    /// Targets are stored: after a restart they are listed again, keys still masked.
    @Test func targetsSurviveARestart() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var server = try await TestServer.start(directory: dir)
        let added = try await Self.addTarget(server, stream: "live/kept", url: "rtmp://127.0.0.1:1/live/kept-secret-key", name: "kept")
        let off = try await server.request(.PATCH, "/api/v1/streams/live/kept/pushes/\(added.id)", body: "{\"enabled\": false}")
        #expect(off.status == 200)
        #expect(off.body.contains("\"state\":\"disabled\""))
        await server.stop(keepDirectory: true)
        server = try await TestServer.start(directory: dir)
        let listed = try #require(try await Self.target(server, stream: "live/kept", id: added.id))
        #expect(listed.json["name"] as? String == "kept")
        #expect(listed.json["enabled"] as? Bool == false)
        #expect(listed.json["url"] as? String == "rtmp://127.0.0.1:1/live/ke…ey")
        #expect(try await server.request(.DELETE, "/api/v1/streams/live/kept/pushes/\(added.id)").status == 204)
        #expect(try await server.request(.DELETE, "/api/v1/streams/live/kept/pushes/\(added.id)").status == 404)
        let long = try await server.request(
            .POST, "/api/v1/streams/live/kept/pushes", body: "{\"url\": \"rtmp://h/a/k\", \"name\": \"\(String(repeating: "n", count: 101))\"}")
        #expect(long.status == 400, "names are at most 100 characters: \(long.body)")
        #expect(long.body.contains("\"field\":\"name\""))
        let bad = try await server.request(.POST, "/api/v1/streams/live/kept/pushes", body: "{\"url\": \"http://x/a/b\"}")
        #expect(bad.status == 400)
        #expect(bad.body.contains("must start with rtmp:"))
        await server.stop()
    }
}
}

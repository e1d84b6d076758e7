import Foundation
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// SIGTERM and SIGHUP to the real `cuecast serve` binary, with real clients around it.
@Suite(.serialized) struct ShutdownTests {
    /// `cuecast serve` as a child process, its log in a file.
    final class Served: Sendable {
        let process: Process
        let directory: TemporaryDirectory
        let rtmpPort: Int
        let httpPort: Int
        /// The RTMPS port, when `extra` asked for one (pass `--rtmps-port 0`).
        let tlsPort: Int?
        var dataDir: String { directory.path + "/data" }
        var log: String { (try? String(contentsOfFile: directory.path + "/serve.log", encoding: .utf8)) ?? "" }

        /// Starts `cuecast serve` on ports the kernel picks (port 0), read back from its log once every listener is up.
        /// Ports picked by the test and handed over would race with every other test binding ports meanwhile.
        init(extra: [String] = [], directory existing: TemporaryDirectory? = nil) async throws {
            let directory = try existing ?? TemporaryDirectory()
            self.directory = directory
            let process = Process()
            self.process = process
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = [
                "serve", "--data-dir", directory.path + "/data", "--rtmp-port", "0", "--http-port", "0",
                "--host", "127.0.0.1", "--hls-dir", directory.path + "/hls",
            ] + extra
            _ = FileManager.default.createFile(atPath: directory.path + "/serve.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.path + "/serve.log"))
            log.truncateFile(atOffset: 0)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            let wantsTLS = extra.contains("--rtmps-port")
            let deadline = Date().addingTimeInterval(60)
            var ports: (rtmp: Int?, http: Int?, tls: Int?) = (nil, nil, nil)
            while true {
                let text = (try? String(contentsOfFile: directory.path + "/serve.log", encoding: .utf8)) ?? ""
                ports = (
                    Self.port(in: text, line: "RTMP listening", after: "address=127.0.0.1:"),
                    Self.port(in: text, line: "Server started and listening on", after: "listening on 127.0.0.1:"),
                    Self.port(in: text, line: "RTMPS listening", after: "address=127.0.0.1:")
                )
                if ports.rtmp != nil && ports.http != nil && (!wantsTLS || ports.tls != nil) { break }
                guard Date() < deadline, process.isAlive else {
                    if process.isAlive { kill(process.processIdentifier, SIGKILL) }
                    throw TimeoutError(what: "cuecast serve to listen: \(text)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            rtmpPort = ports.rtmp!
            httpPort = ports.http!
            tlsPort = ports.tls
        }

        /// The port on the first log line containing `line`, read after `after`.
        static func port(in log: String, line: String, after: String) -> Int? {
            guard let found = log.split(separator: "\n").first(where: { $0.contains(line) }),
                let start = found.range(of: after)?.upperBound
            else { return nil }
            return Int(found[start...].prefix { $0.isNumber })
        }

        func key(for stream: String) async throws -> String {
            try await Tool(CLITests.binary).run(["keys", "add", stream, "--quiet", "--data-dir", dataDir]).text
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Waits for the process to exit; its status, and how long after `since` it went.
        func exit(since: ContinuousClock.Instant, within seconds: Double) async throws -> (status: Int32, after: Duration) {
            let deadline = Date().addingTimeInterval(seconds)
            // Kept from the look that saw the exit (see `Tool.run`: a second look can come too early for Foundation).
            while true {
                if let status = process.exitStatus { return (status, ContinuousClock.now - since) }
                guard Date() < deadline else {
                    kill(process.processIdentifier, SIGKILL)
                    throw TimeoutError(what: "cuecast to exit: \(log.suffix(2000))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        func stop(keepDirectory: Bool = false) {
            if process.isAlive {
                kill(process.processIdentifier, SIGKILL)
                process.waitForExit()
            }
            if !keepDirectory { directory.remove() }
        }

        func get(_ path: String) async throws -> String {
            try await Tool("curl").run(["-s", "http://127.0.0.1:\(httpPort)\(path)"], timeout: 30).text
        }
    }

    /// Publishes on a raw connection, then reads until the server closes it; returns every onStatus (code, description).
    static func publishUntilClosed(port: Int, name: String, published: @Sendable () -> Void) async throws -> [(String, String)] {
        let client = try await RawRTMPClient.connect(port: port)
        return try await client.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RefusalTests.publishBytes(name: name))
            var received = ByteBuffer()
            var announced = false
            for try await var part in inbound {
                received.writeBuffer(&part)
                if !announced, try RefusalTests.statusCodes(received).contains("NetStream.Publish.Start") {
                    announced = true
                    published()
                }
            }
            return zip(try RefusalTests.statusCodes(received), try RefusalTests.statusDescriptions(received)).map { ($0, $1) }
        }
    }

    @Test func sigtermTellsEveryClientEndsPlaylistsAndSessionsAndFinishesResponses() async throws {
        let served = try await Served()
        defer { served.stop() }
        let key = try await served.key(for: "live/sd1")
        let clip = try await highBitrateClip(in: served.directory.path)
        let rtmp = "rtmp://127.0.0.1:\(served.rtmpPort)"
        let http = "http://127.0.0.1:\(served.httpPort)"
        let ffmpeg = Task {
            try await Tool("ffmpeg").run([
                "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip,
                "-c", "copy", "-f", "flv", "\(rtmp)/live/sd1?key=\(key)",
            ], timeout: 120, requireSuccess: false)
        }
        // A second publisher on a raw connection, to see exactly what it is told.
        let rawKey = try await served.key(for: "live/sd2")
        let rawStarted = AsyncStream<Void>.makeStream()
        let raw = Task { try await Self.publishUntilClosed(port: served.rtmpPort, name: "sd2?key=\(rawKey)") { rawStarted.continuation.yield() } }
        for await _ in rawStarted.stream { break }

        // Wait for three TS segments, then start the readers.
        var playlist = ""
        let deadline = Date().addingTimeInterval(60)
        while playlist.components(separatedBy: "#EXTINF").count < 4 {
            guard Date() < deadline else { throw TimeoutError(what: "three segments: \(playlist)") }
            try await Task.sleep(for: .milliseconds(200))
            playlist = try await served.get("/hls/live/sd1/index.m3u8")
        }
        let token = try String(contentsOfFile: served.dataDir + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let feed = Task {
            try await Tool("curl").run(["-s", "-N", "-H", "Authorization: Bearer \(token)", "\(http)/api/v1/stats/live"], timeout: 90, requireSuccess: false)
        }
        // A viewer app's cue event feed, which is public and never ends on its own.
        let events = Task { try await Tool("curl").run(["-s", "-N", "\(http)/api/v1/streams/live/sd1/events"], timeout: 90, requireSuccess: false) }
        let player = Task { try await Tool("python3").run([RTMPPlayTests.client, "\(rtmp)/live/sd1", "--seconds", "60"], timeout: 90) }
        let flv = Task { try await Tool("curl").run(["-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(http)/live/sd1.flv"], timeout: 90, requireSuccess: false) }
        // A blocking reload two parts ahead is parked when the signal comes.
        let ll = try await served.get("/hls/live/sd1/ll.m3u8")
        let msn = Int(ll.components(separatedBy: "#EXT-X-MEDIA-SEQUENCE:")[1].prefix { $0.isNumber })!
        let segments = ll.components(separatedBy: "#EXTINF").count - 1
        let parked = Task { try await Tool("curl").run(["-s", "-w", "\n%{http_code}", "\(http)/hls/live/sd1/ll.m3u8?_HLS_msn=\(msn + segments + 1)"], timeout: 90) }
        // A download of a 2 MB segment at 1 MB/s is still in flight when the signal comes (more than socket buffers
        // hold, so the server is still writing it).
        let segmentURI = try #require(playlist.split(separator: "\n").last { $0.hasSuffix(".ts") })
        let segmentSize = try await Tool("curl").run(["-s", "-o", "/dev/null", "-w", "%{size_download}", "\(http)/hls/live/sd1/\(segmentURI)"]).text
        let download = Task {
            try await Tool("curl").run(
                ["-s", "--limit-rate", "1M", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(http)/hls/live/sd1/\(segmentURI)"], timeout: 90)
        }
        // The RTMP player is a Python process: it must be connected (a third RTMP connection, after the two
        // publishers) before the signal, or it meets a closed listener instead of NetStream.Play.Stop.
        let connected = Date().addingTimeInterval(30)
        while try await !served.get("/metrics").contains("cuecast_rtmp_connections 3") {
            guard Date() < connected else { throw TimeoutError(what: "the RTMP player's connection") }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(0.5))

        let signalled = ContinuousClock.now
        kill(served.process.processIdentifier, SIGTERM)
        let (status, took) = try await served.exit(since: signalled, within: 20)
        #expect(status == 0, "\(served.log.suffix(3000))")
        #expect(took < .seconds(5), "nothing held the shutdown (an open stats feed ends too): \(took)")
        #expect(!served.log.contains("shutdown-timeout reached"))
        #expect(try await feed.value.text.hasSuffix("event: shutdown\ndata: {}\n\n"))
        #expect(try await events.value.text.hasSuffix("event: shutdown\ndata: {}\n\n"))

        // The publishers were told and closed; ffmpeg saw its connection end.
        let statuses = try await raw.value
        #expect(statuses.map(\.0) == ["NetStream.Publish.Start", "NetStream.Unpublish.Success"])
        #expect(statuses.last?.1 == "server is shutting down")
        _ = try await ffmpeg.value
        // The RTMP player got NetStream.Play.Stop, then the close.
        let play = try JSONDecoder().decode(RTMPPlayTests.Play.self, from: Data(try await player.value.text.utf8))
        #expect(play.statuses.last?.code == "NetStream.Play.Stop")
        #expect(play.closed)
        #expect(try await flv.value.text.hasPrefix("200 "))
        // The held blocking reload was answered with the ended playlist.
        let held = try await parked.value.text
        #expect(held.hasSuffix("\n200"), "\(held)")
        #expect(held.contains("#EXT-X-ENDLIST"))
        // The segment download finished in full.
        #expect(Int(segmentSize) ?? 0 > 1_000_000)
        #expect(try await download.value.text == "200 \(segmentSize)")
        // The playlist on disk (the mirror writes the TS rendition) ends, and every session is closed as shutdown
        // with its real summary.
        let mirrored = try String(contentsOfFile: served.directory.path + "/hls/live/sd1/index.m3u8", encoding: .utf8)
        #expect(mirrored.hasSuffix("#EXT-X-ENDLIST\n"))
        let sessions = try await Tool("python3").run([
            "-c",
            """
            import json, sqlite3
            rows = sqlite3.connect('\(served.dataDir)/cuecast.sqlite').execute(
                'select stream, end_reason, ended_at > started_at, video_frames from publish_session order by stream').fetchall()
            print(json.dumps(rows))
            """,
        ]).text
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(sessions.utf8)) as? [[Any]])
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0[1] as? String == "shutdown" }, "\(rows)")
        #expect(rows.first?[2] as? Int == 1 && (rows.first?[3] as? Int ?? 0) > 60, "the ffmpeg publish's own summary: \(rows)")
        #expect(served.log.contains("HLS playlists ended for shutdown"))
    }

    @Test func sighupReloadsTheCertificateOfARunningServer() async throws {
        let certs = try TemporaryDirectory()
        defer { certs.remove() }
        try await TestCertificates.make(in: certs.path)
        let served = try await Served(extra: [
            "--tls-certificate", "\(certs.path)/server.pem", "--tls-key", "\(certs.path)/server.key", "--rtmps-port", "0",
        ])
        defer { served.stop() }
        let tlsPort = try #require(served.tlsPort)
        #expect(try await RTMPSTests.servedSerial(port: tlsPort) == (try await RTMPSTests.fileSerial("\(certs.path)/server.pem")))
        try await TestCertificates.make(in: certs.path, name: "next")
        try FileManager.default.removeItem(atPath: "\(certs.path)/server.pem")
        try FileManager.default.removeItem(atPath: "\(certs.path)/server.key")
        try FileManager.default.copyItem(atPath: "\(certs.path)/next.pem", toPath: "\(certs.path)/server.pem")
        try FileManager.default.copyItem(atPath: "\(certs.path)/next.key", toPath: "\(certs.path)/server.key")
        kill(served.process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(20)
        while !served.log.contains("certificate reloaded") {
            guard Date() < deadline else { throw TimeoutError(what: "reload: \(served.log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(served.process.isAlive)
        #expect(try await RTMPSTests.servedSerial(port: tlsPort) == (try await RTMPSTests.fileSerial("\(certs.path)/next.pem")))
        kill(served.process.processIdentifier, SIGTERM)
        #expect(try await served.exit(since: .now, within: 20).status == 0)
    }
}

extension ShutdownTests {
    /// A client that sent half a request body and went quiet holds its request open; past `shutdown-timeout` the
    /// server stops waiting for it, says so, and exits.
    @Test func shutdownTimeoutBoundsAStuckClient() async throws {
        let served = try await Served(extra: ["--shutdown-timeout", "2"])
        defer { served.stop() }
        let token = try String(contentsOfFile: served.dataDir + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let stuck = Task {
            try await Tool("python3").run([
                "-c",
                """
                import socket, sys
                s = socket.create_connection(("127.0.0.1", \(served.httpPort)))
                s.sendall(b"POST /api/v1/streams/live/x/cues HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer \(token)\\r\\n"
                          b"Content-Type: application/json\\r\\nContent-Length: 1000\\r\\n\\r\\n{\\"kind\\":")
                print(len(s.recv(65536)))
                """,
            ], timeout: 60)
        }
        // Let the request reach the server before the signal.
        try await Task.sleep(for: .seconds(1))
        let signalled = ContinuousClock.now
        kill(served.process.processIdentifier, SIGTERM)
        let (status, took) = try await served.exit(since: signalled, within: 30)
        #expect(status == 0)
        #expect(took > .seconds(1.5), "the stuck request was waited for: \(took)")
        #expect(took < .seconds(8), "then cut at 2 s (plus at most 3 s of cancellation): \(took)")
        #expect(served.log.contains("shutdown-timeout reached"))
        // The stuck client saw its connection close without an answer.
        #expect(try await stuck.value.text.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}

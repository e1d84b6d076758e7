import Foundation
import Media
import Testing
import TestSupport

/// Faults around the server: a database locked by another writer, a publisher that falls silent with its TCP
/// connection open, and SIGKILL at random moments of a publish with cues.
@Suite struct FaultTests {
    static func cue(_ server: TestServer, id: String, stream: String) async throws -> (status: Int, body: String, retryAfter: String?) {
        let response = try await server.request(
            .POST, "/api/v1/streams/\(stream)/cues", body: #"{"id": "\#(id)", "kind": "announcement", "payload": {"text": "\#(id)"}}"#)
        return (response.status, response.body, response.headers.first(name: "Retry-After"))
    }

    static func mediaPosition(_ server: TestServer, _ stream: String) async throws -> Int {
        position(of: String(decoding: try await server.fetch("/hls/\(stream)/index.m3u8").body, as: UTF8.self))
    }

    /// The media sequence number after a playlist's newest segment.
    static func position(of text: String) -> Int {
        let sequence = Int(text.components(separatedBy: "#EXT-X-MEDIA-SEQUENCE:").dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
        return sequence + text.components(separatedBy: "#EXTINF").count - 1
    }

    /// Another process holds the database's write lock for 14 s: cue and key calls answer 503 with the cause (after
    /// the 5 s busy timeout) and acknowledge nothing; ingest and HLS go on; afterwards everything acknowledged is there.
    @Test func aLockedDatabaseGets503WithTheCauseAndStreamingGoesOn() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 2 }) { server in
            let publish = try await server.publishLive(StreamPath("live/busy")!, loops: 3)
            defer { publish.cancel() }
            try await server.eventually("a segment") { try await Self.mediaPosition(server, "live/busy") > 0 }
            #expect(try await Self.cue(server, id: "before", stream: "live/busy").status == 201)
            let database = server.server.database.path
            let lock = Task {
                try await Tool("python3").run([
                    "-c",
                    "import sqlite3, time\ndb = sqlite3.connect('\(database)', isolation_level=None)\ndb.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(14)\ndb.execute('COMMIT')",
                ], timeout: 60)
            }
            try await Task.sleep(for: .seconds(1))
            let before = try await Self.mediaPosition(server, "live/busy")
            let refused = try await Self.cue(server, id: "during", stream: "live/busy")
            #expect(refused.status == 503, "\(refused.body)")
            #expect(refused.body.contains("the database is busy") && refused.body.contains("not acknowledged"), "\(refused.body)")
            #expect(refused.retryAfter == "5")
            let key = try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "live/newkey"}"#)
            #expect(key.status == 503 && key.body.contains("the database is busy"), "\(key.body)")
            // HLS kept advancing while the database was locked.
            #expect(try await Self.mediaPosition(server, "live/busy") > before)
            _ = try await lock.value
            #expect(try await Self.cue(server, id: "after", stream: "live/busy").status == 201)
            let listed = try await server.request(.GET, "/api/v1/streams/live/busy/cues").body
            #expect(listed.contains("\"before\"") && listed.contains("\"after\"") && !listed.contains("\"during\""), "\(listed)")
            #expect(server.logs.contains("could not store cue"))
        }
    }

    /// A publisher frozen with SIGSTOP keeps its TCP connection open and sends nothing: the idle timeout closes it,
    /// its playlist ends after the grace period, and another publisher goes on.
    @Test func aSilentPublisherIsClosedByTheIdleTimeout() async throws {
        try await withServer(configure: {
            $0.idleTimeout = 3
            $0.hls.gracePeriod = 1
        }) { server in
            let other = try await server.publishLive(StreamPath("live/other")!, loops: 3)
            defer { other.cancel() }
            let path = StreamPath("live/silent")!
            let secret = try await server.server.keys.add(stream: path.description)
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: Tool.find("ffmpeg")!)
            ffmpeg.arguments = [
                "-hide_banner", "-loglevel", "quiet", "-nostdin", "-re", "-stream_loop", "-1", "-i", Fixtures.path(Fixtures.bframes),
                "-c", "copy", "-f", "flv", "\(server.rtmpBase)/live/silent?key=\(secret)",
            ]
            try ffmpeg.run()
            defer {
                kill(ffmpeg.processIdentifier, SIGCONT)
                kill(ffmpeg.processIdentifier, SIGKILL)
                ffmpeg.waitForExit()
            }
            try await server.eventually("a segment of live/silent") { try await Self.mediaPosition(server, "live/silent") > 0 }
            kill(ffmpeg.processIdentifier, SIGSTOP)
            let stopped = ContinuousClock.now
            try await server.eventually(timeout: 20, "the idle publish closed") { server.server.hub.stream(path) == nil }
            #expect(ContinuousClock.now - stopped < .seconds(10), "closed by the 3 s idle timeout")
            // The publish leaves the hub a moment before the connection's close is logged (`close` ends the publish
            // first): on a loaded machine the check above can see the one before the other.
            try await server.eventually(timeout: 10, "the idle timeout logged") {
                server.logs.all.contains { $0.contains("connection closed") && $0.contains("no data for 3 s") }
            }
            try await server.eventually(timeout: 20, "playlist ended") {
                String(decoding: try await server.fetch("/hls/live/silent/index.m3u8").body, as: UTF8.self).contains("#EXT-X-ENDLIST")
            }
            #expect(server.server.hub.stream(StreamPath("live/other")!) != nil, "the other publisher goes on")
        }
    }

    /// The disk under the data directory fills up while a stream is live (a 4 MB tmpfs, filled by a file): cue
    /// calls answer 503 naming the full disk and acknowledge nothing, while ingest and HLS go on from memory. Once
    /// space is freed, cues are acknowledged again, and a restart finds every acknowledged cue and none refused.
    @Test func aFullDiskGets503WithTheCauseAndStreamingGoesOn() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.path + "/data"
        try Self.mountTmpfs(at: data, size: "4m")
        defer { Self.unmount(data) }
        let served = try await ShutdownTests.Served(extra: ["--cue-rate", "1000", "--cue-burst", "1000"], directory: directory)
        defer { served.stop(keepDirectory: true) }
        let http = "http://127.0.0.1:\(served.httpPort)"
        let token = try String(contentsOfFile: data + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let key = try await served.key(for: "live/full")
        let ffmpeg = Task {
            try await Tool("ffmpeg").run([
                "-hide_banner", "-loglevel", "quiet", "-nostdin", "-re", "-stream_loop", "-1", "-i", Fixtures.path(Fixtures.bframes),
                "-c", "copy", "-f", "flv", "rtmp://127.0.0.1:\(served.rtmpPort)/live/full?key=\(key)",
            ], timeout: 120, requireSuccess: false)
        }
        defer { ffmpeg.cancel() }
        func position() async throws -> Int {
            Self.position(of: try await Self.curl(served, round: 0, ["\(http)/hls/live/full/index.m3u8"]))
        }
        func cue(_ id: String) async throws -> (status: String, body: String) {
            let output = try await Tool("curl").run([
                "-s", "--max-time", "30", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(token)", "-d",
                #"{"id": "\#(id)", "kind": "announcement", "payload": {"text": "\#(String(repeating: "x", count: 450))"}}"#,
                "\(http)/api/v1/streams/live/full/cues",
            ], timeout: 60, requireSuccess: false).text
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await position() < 1 {
            guard ContinuousClock.now < deadline else { throw TimeoutError(what: "a first segment: \(served.log.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let first = try await cue("before")
        #expect(first.status == "201", "\(first)")

        // Fill the disk: dd stops at ENOSPC.
        _ = try await Tool("dd").run(["if=/dev/zero", "of=\(data)/fill", "bs=64k"], requireSuccess: false)
        let before = try await position()
        var acknowledged: Set<String> = ["before"]
        var refused: (id: String, body: String)?
        // SQLite may still write into pages it holds already; a few hundred cues (each a few pages of the write-ahead log) need more than it has.
        for index in 0..<400 where refused == nil {
            let answer = try await cue("full-\(index)")
            switch answer.status {
            case "201": acknowledged.insert("full-\(index)")
            case "503": refused = ("full-\(index)", answer.body)
            default: Issue.record("cue full-\(index): \(answer.status) \(answer.body)")
            }
        }
        let refusal = try #require(refused, "no cue was refused on a full disk")
        #expect(refusal.body.contains("the disk holding the database is full") && refusal.body.contains("not acknowledged"), "\(refusal.body)")
        #expect(served.log.contains("could not store cue"))
        // Ingest and HLS went on while the disk was full.
        let advanced = ContinuousClock.now + .seconds(30)
        while try await position() <= before {
            guard ContinuousClock.now < advanced else { throw TimeoutError(what: "HLS to advance on a full disk: \(served.log.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(served.process.isAlive)

        try FileManager.default.removeItem(atPath: data + "/fill")
        #expect(try await cue("after").status == "201")
        acknowledged.insert("after")
        // After a restart: every acknowledged cue is there, the refused one is not.
        kill(served.process.processIdentifier, SIGTERM)
        _ = try await served.exit(since: .now, within: 30)
        let again = try await ShutdownTests.Served(directory: directory)
        defer { again.stop(keepDirectory: true) }
        var listed = ""
        var after = 0
        while true {
            let page = try await Self.curl(again, round: 1, [
                "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(again.httpPort)/api/v1/streams/live/full/cues?limit=1000&after=\(after)",
            ])
            listed += page
            let sequences = page.components(separatedBy: "\"sequence\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            guard let last = sequences.max(), sequences.count == 1000 else { break }
            after = last
        }
        let missing = acknowledged.filter { !listed.contains("\"\($0)\"") }
        #expect(missing.isEmpty, "acknowledged cues missing: \(missing.sorted())")
        #expect(!listed.contains("\"\(refusal.id)\""))
    }

    /// A data directory on a read-only file system stops the server at start with a message naming the file and
    /// the cause (SQLite alone says "unable to open database file").
    @Test func aReadOnlyDataDirectoryStopsTheStartWithTheCause() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.path + "/data"
        // A data directory made by a first start, then made read-only.
        let first = try await ShutdownTests.Served(directory: directory)
        first.stop(keepDirectory: true)
        _ = try await Tool("mount").run(["--bind", data, data])
        defer { Self.unmount(data) }
        _ = try await Tool("mount").run(["-o", "remount,ro,bind", data])
        let output = try await Tool(CLITests.binary).run(
            ["serve", "--data-dir", data, "--rtmp-port", "0", "--http-port", "0", "--host", "127.0.0.1", "--hls-dir", directory.path + "/hls"],
            timeout: 30, requireSuccess: false)
        #expect(output.status != 0)
        #expect(output.stderr.contains("cannot open the database \(data)/cuecast.sqlite"), "\(output.stderr)")
        #expect(output.stderr.contains("read-only file system"), "\(output.stderr)")
        // The CLI says the same.
        let keys = try await Tool(CLITests.binary).run(["keys", "add", "live/x", "--data-dir", data], timeout: 30, requireSuccess: false)
        #expect(keys.status != 0 && keys.stderr.contains("read-only file system"), "\(keys.stderr)")
    }

    /// Mounts a tmpfs of `size` (a `mount -o size=` value) at `path`. Needs root, as CI and `scripts/test` have.
    static func mountTmpfs(at path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
        try mount.run()
        mount.waitForExit()
        guard mount.exitStatus == 0 else {
            throw SetupFailure(what: "could not mount a tmpfs at \(path): this test needs root, as CI and scripts/test have")
        }
    }

    struct SetupFailure: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    static func unmount(_ path: String) {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", path]
        try? umount.run()
        umount.waitForExit()
    }

    /// 20 rounds of: start the real binary on the same data directory, publish, place cues, SIGKILL at a random
    /// moment. After each restart: every acknowledged cue is in the log, no publish session is left open, and no
    /// segment URI seen in any round was ever used again.
    @Test func sigkillAtRandomMomentsLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var acknowledged: Set<String> = []
        var segmentURIs: Set<String> = []
        var reused: Set<String> = []
        for round in 0..<20 {
            let served = try await ShutdownTests.Served(directory: directory)
            let http = "http://127.0.0.1:\(served.httpPort)"
            let token = try String(contentsOfFile: served.dataDir + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            // What earlier rounds left: every acknowledged cue, and no session still open.
            let listed = try await Self.curl(served, round: round, ["-H", "Authorization: Bearer \(token)", "\(http)/api/v1/streams/live/k9/cues?limit=1000"])
            let missing = acknowledged.filter { !listed.contains("\"\($0)\"") }
            #expect(missing.isEmpty, "round \(round): acknowledged cues missing after SIGKILL: \(missing.sorted())")
            let sessions = try await Self.curl(served, round: round, ["-H", "Authorization: Bearer \(token)", "\(http)/api/v1/sessions?limit=500"])
            #expect(!sessions.contains("\"endedAt\":null") && !sessions.contains("\"endReason\":null"), "round \(round): \(sessions.prefix(400))")

            let key = round == 0 ? try await served.key(for: "live/k9") : try await Self.rekey(served)
            let ffmpeg = Task {
                try await Tool("ffmpeg").run([
                    "-hide_banner", "-loglevel", "quiet", "-nostdin", "-re", "-stream_loop", "-1", "-i", Fixtures.path(Fixtures.bframes),
                    "-c", "copy", "-f", "flv", "rtmp://127.0.0.1:\(served.rtmpPort)/live/k9?key=\(key)",
                ], timeout: 60, requireSuccess: false)
            }
            let killAt = ContinuousClock.now + .milliseconds(Int64.random(in: 2000...6000))
            var index = 0
            var thisRound: Set<String> = []
            while ContinuousClock.now < killAt {
                index += 1
                let id = "r\(round)-c\(index)"
                let answer = try await Self.curl(served, round: round, [
                    "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)", "-d",
                    #"{"id": "\#(id)", "kind": "announcement", "payload": {"text": "x"}}"#, "\(http)/api/v1/streams/live/k9/cues",
                ])
                if answer == "201" { acknowledged.insert(id) }
                let playlist = try await Self.curl(served, round: round, ["\(http)/hls/live/k9/index.m3u8"])
                for uri in playlist.split(separator: "\n") where uri.hasSuffix(".ts") { thisRound.insert(String(uri)) }
                try await Task.sleep(for: .milliseconds(150))
            }
            kill(served.process.processIdentifier, SIGKILL)
            served.process.waitForExit()
            ffmpeg.cancel()
            _ = try? await ffmpeg.value
            // A URI listed by this process must never have been listed by an earlier one.
            reused.formUnion(thisRound.intersection(segmentURIs))
            segmentURIs.formUnion(thisRound)
        }
        // Last look: one more start finds every acknowledged cue.
        let served = try await ShutdownTests.Served(directory: directory)
        defer { served.stop(keepDirectory: true) }
        let token = try String(contentsOfFile: served.dataDir + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try await Self.curl(served, round: 20, ["-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(served.httpPort)/api/v1/streams/live/k9/cues?limit=1000"])
        #expect(acknowledged.count > 20, "cues were acknowledged: \(acknowledged.count)")
        #expect(acknowledged.allSatisfy { listed.contains("\"\($0)\"") })
        #expect(segmentURIs.count > 10, "segments were listed: \(segmentURIs.count)")
        #expect(reused.isEmpty, "segment URIs used again after a restart: \(reused.sorted())")
    }

    /// One request to the server; an answer that takes more than 30 s is a failure of its own, reported with the
    /// server's log (a refused or reset connection is not: the server may be starting or just killed).
    static func curl(_ served: ShutdownTests.Served, round: Int, _ arguments: [String]) async throws -> String {
        let output = try await Tool("curl").run(["-s", "--max-time", "30"] + arguments, timeout: 60, requireSuccess: false)
        if output.status == 28 {
            Issue.record("round \(round): no answer within 30 s to curl \(arguments.last ?? ""); server log:\n\(served.log.suffix(4000))")
        }
        return output.text
    }

    /// The key of live/k9 again (the first round's secret was only printed then): revoke and add.
    static func rekey(_ served: ShutdownTests.Served) async throws -> String {
        _ = try await Tool(CLITests.binary).run(["keys", "revoke", "live/k9", "--data-dir", served.dataDir])
        return try await served.key(for: "live/k9")
    }
}

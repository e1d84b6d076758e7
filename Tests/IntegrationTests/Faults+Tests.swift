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
        let text = String(decoding: try await server.fetch("/hls/\(stream)/index.m3u8").body, as: UTF8.self)
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
                ffmpeg.waitUntilExit()
            }
            try await server.eventually("a segment of live/silent") { try await Self.mediaPosition(server, "live/silent") > 0 }
            kill(ffmpeg.processIdentifier, SIGSTOP)
            let stopped = ContinuousClock.now
            try await server.eventually(timeout: 20, "the idle publish closed") { server.server.hub.stream(path) == nil }
            #expect(ContinuousClock.now - stopped < .seconds(10), "closed by the 3 s idle timeout")
            #expect(server.logs.all.contains { $0.contains("connection closed") && $0.contains("no data for 3 s") })
            try await server.eventually(timeout: 20, "playlist ended") {
                String(decoding: try await server.fetch("/hls/live/silent/index.m3u8").body, as: UTF8.self).contains("#EXT-X-ENDLIST")
            }
            #expect(server.server.hub.stream(StreamPath("live/other")!) != nil, "the other publisher goes on")
        }
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
            served.process.waitUntilExit()
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
        let listed = try await Tool("curl").run(["-s", "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(served.httpPort)/api/v1/streams/live/k9/cues?limit=1000"]).text
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

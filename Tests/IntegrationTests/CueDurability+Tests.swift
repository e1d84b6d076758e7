import Foundation
import Media
import Testing
import TestSupport

/// The real `cuecast` binary killed with SIGKILL right after acknowledging a cue.
@Suite struct CueDurabilityTests {
    struct Child {
        let process: Process
        let http: Int
        let rtmp: Int

        /// `log` takes what the server prints (log lines at warning and above).
        static func start(dataDir: String, log: FileHandle = .nullDevice) async throws -> Child {
            let ports = try await Tool("python3").run(["-c", """
                import socket
                socks = [socket.socket() for _ in range(2)]
                for s in socks: s.bind(("127.0.0.1", 0))
                print(" ".join(str(s.getsockname()[1]) for s in socks))
                """]).text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = [
                "serve", "--data-dir", dataDir, "--http-port", String(ports[0]), "--rtmp-port", String(ports[1]), "--hls-grace", "1",
                "--log-level", "warning",
            ]
            process.environment = ProcessInfo.processInfo.environment.merging(["CUECAST_ADMIN_TOKEN": "test-token"]) { $1 }
            process.standardOutput = log
            process.standardError = log
            try process.run()
            let child = Child(process: process, http: ports[0], rtmp: ports[1])
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if (try? await Tool("curl").run(["-sf", "http://127.0.0.1:\(ports[0])/healthz"], timeout: 5)) != nil { return child }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TimeoutError(what: "cuecast serve to answer /healthz")
        }

        func curl(_ arguments: [String]) async throws -> String {
            try await Tool("curl").run(["-s", "-H", "Authorization: Bearer test-token"] + arguments, timeout: 20).text
        }

        var base: String { "http://127.0.0.1:\(http)" }

        /// ffmpeg publishing `Fixtures.bframes` in real time to `stream`, `loops` extra times (-1: until stopped).
        func publish(_ stream: String, key: String, loops: Int) throws -> Process {
            let publisher = Process()
            publisher.executableURL = URL(fileURLWithPath: Tool.find("ffmpeg")!)
            publisher.arguments = ["-hide_banner", "-loglevel", "quiet", "-nostdin", "-re", "-stream_loop", String(loops), "-i",
                                   Fixtures.path(Fixtures.bframes), "-c", "copy", "-f", "flv", "rtmp://127.0.0.1:\(rtmp)/\(stream)?key=\(key)"]
            try publisher.run()
            return publisher
        }

        /// The stream's media playlist once it lists a segment (or what it was after 20 s).
        func firstSegments(of stream: String) async throws -> String {
            var playlist = ""
            let deadline = Date().addingTimeInterval(20)
            while !playlist.contains("#EXTINF"), Date() < deadline {
                playlist = try await curl(["\(base)/hls/\(stream)/index.m3u8"])
                try await Task.sleep(for: .milliseconds(200))
            }
            return playlist
        }
    }

    @Test func anAcknowledgedCueSurvivesSIGKILL() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let secret = try await CLITests().cuecast(["keys", "add", "live/crash", "--quiet", "--data-dir", dir.path]).text
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let first = try await Child.start(dataDir: dir.path)
        let publisher = try first.publish("live/crash", key: secret, loops: 2)
        defer { if publisher.isAlive { publisher.terminate() } }
        let base = first.base
        let before = entries(of: try await first.firstSegments(of: "live/crash")).map(\.uri)
        #expect(!before.isEmpty)
        let answer = try await first.curl(["-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "-d", CueTests.pin, "\(base)/api/v1/streams/live/crash/cues"])
        #expect(answer.hasSuffix("\n201"), "\(answer)")
        let placed = try JSONDecoder().decode(CueTests.Placed.self, from: Data(answer.split(separator: "\n").first!.utf8))
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitForExit()
        publisher.terminate()
        publisher.waitForExit()
        // Everything the killed server listed, including URIs it may not have listed yet, must stay unique.
        let seenBefore = Set(before)

        let second = try await Child.start(dataDir: dir.path)
        defer {
            second.process.terminate()
            second.process.waitForExit()
        }
        let base2 = "http://127.0.0.1:\(second.http)"
        let log = try await second.curl(["\(base2)/api/v1/streams/live/crash/cues"])
        #expect(log.contains(placed.id))
        #expect(log.contains("\"pts\":\(placed.pts)"))
        let state = try await second.curl(["\(base2)/api/v1/streams/live/crash/state"])
        #expect(state.contains(placed.id))

        let republish = try await Tool("ffmpeg").run(["-hide_banner", "-loglevel", "error", "-nostdin", "-i", Fixtures.path(Fixtures.small), "-c", "copy", "-f", "flv",
                                                      "rtmp://127.0.0.1:\(second.rtmp)/live/crash?key=\(secret)"], timeout: 60)
        #expect(republish.status == 0)
        var after: [String] = []
        let deadline2 = Date().addingTimeInterval(20)
        while after.isEmpty, Date() < deadline2 {
            after = entries(of: try await second.curl(["\(base2)/hls/live/crash/index.m3u8"])).map(\.uri)
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(!after.isEmpty)
        #expect(seenBefore.isDisjoint(with: after))
        let numbersBefore = before.compactMap { Int($0.dropLast(3).split(separator: "-").last!) }
        let numbersAfter = after.compactMap { Int($0.dropLast(3).split(separator: "-").last!) }
        #expect(numbersAfter.min()! > numbersBefore.max()!, "numbering continues past everything the killed server used")
    }
}

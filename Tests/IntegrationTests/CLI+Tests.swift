import Foundation
import Media
@testable import Server
import Testing
import TestSupport

@Suite struct CLITests {
    /// The `cuecast` binary `swift test` built next to the test bundle.
    static var binary: String {
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent("cuecast").path] + ["debug", "release"].map {
            Fixtures.directory.deletingLastPathComponent().appendingPathComponent(".build/\($0)/cuecast").path
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    func cuecast(_ arguments: [String], requireSuccess: Bool = true) async throws -> Tool.Output {
        try await Tool(Self.binary).run(arguments, timeout: 30, requireSuccess: requireSuccess)
    }

    @Test func keysFromTheCLITakeEffectInARunningServer() async throws {
        try await withServer { server in
            let dataDir = server.server.configuration.dataDir
            let key = try await cuecast(["keys", "add", "live/cli", "--quiet", "--data-dir", dataDir]).text
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("sk_"))
            _ = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/\(key)", realtime: false)
            #expect(try await server.server.sessions.recent(stream: "live/cli").count == 1)

            let listed = try await cuecast(["keys", "list", "--data-dir", dataDir]).text
            #expect(listed.contains("live/cli"))
            #expect(listed.contains("active"))
            #expect(!listed.contains(key))
            // A command used correctly that the store refuses: exit 1 with the reason, no usage text.
            let second = try await cuecast(["keys", "add", "live/cli", "--data-dir", dataDir], requireSuccess: false)
            #expect(second.status == 1)
            #expect(second.stderr.contains("already has an active key") && !second.stderr.contains("Usage:"), "\(second.stderr)")

            _ = try await cuecast(["keys", "revoke", "live/cli", "--data-dir", dataDir])
            let refused = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/\(key)", realtime: false, requireSuccess: false)
            #expect(refused.status != 0)
            #expect(try await cuecast(["keys", "list", "--data-dir", dataDir]).text.contains("revoked"))

            let again = try await cuecast(["keys", "revoke", "live/cli", "--data-dir", dataDir], requireSuccess: false)
            #expect(again.status == 1)
            #expect(again.stderr.contains("has no active key") && !again.stderr.contains("Usage:"), "\(again.stderr)")
            // A malformed argument is a usage error: exit 64 (EX_USAGE) with the usage text.
            let bad = try await cuecast(["keys", "add", "live/../x", "--data-dir", dataDir], requireSuccess: false)
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("<app>/<name>") && bad.stderr.contains("Usage: cuecast keys add <stream>"), "\(bad.stderr)")
        }
    }

    /// `cuecast push` goes through the running server's API: add, list (key masked), disable, remove, and a
    /// malformed URL refused with the server's reason.
    @Test func pushTargetsFromTheCLI() async throws {
        try await withServer { server in
            let connection = ["--server", server.httpBase, "--data-dir", server.server.configuration.dataDir]
            let adding = try await cuecast(["push", "add", "live/cli", "rtmp://127.0.0.1:1/live/cli-secret-key-42", "--name", "channels"] + connection)
            let added = adding.text
            // Accepted, with a note: the stream has no key yet (or the name has a typo).
            #expect(adding.stderr.contains("live/cli has no active stream key") && adding.stderr.contains("cuecast keys add live/cli"), "\(adding.stderr)")
            let id = try #require(added.split(separator: " ").dropFirst().first.map(String.init))
            #expect(id.hasPrefix("pt_"), "\(added)")
            #expect(!added.contains("cli-secret-key-42"))
            let listing = try await cuecast(["push", "list", "live/cli"] + connection)
            let listed = listing.text
            #expect(listing.stderr.contains("live/cli has no active stream key"), "the note again: \(listing.stderr)")
            #expect(listed.contains("channels"))
            #expect(listed.contains("rtmp://127.0.0.1:1/live/cl…42"))
            #expect(!listed.contains("cli-secret-key-42"))
            // With no stream, every stream's targets, each line led by its stream.
            let everyStreamListing = try await cuecast(["push", "list"] + connection)
            let everyStream = everyStreamListing.text
            #expect(everyStream.contains("live/cli  \(id)  channels  rtmp://127.0.0.1:1/live/cl…42  idle"), "\(everyStream)")
            #expect(everyStreamListing.stderr.contains("note: live/cli has no active stream key"), "\(everyStreamListing.stderr)")
            // Live, the target cannot connect (port 1): the list says why, and when.
            let key = try await cuecast(["keys", "add", "live/cli", "--quiet", "--data-dir", server.server.configuration.dataDir]).text
                .trimmingCharacters(in: .whitespacesAndNewlines)
            async let publish = ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/\(key)")
            var failing = ""
            for _ in 0..<150 where !(failing.contains("last error") && failing.contains("next try at")) {
                failing = try await cuecast(["push", "list", "live/cli"] + connection).text
                try await Task.sleep(for: .milliseconds(100))
            }
            let sessions = try await cuecast(["sessions", "--stream", "live/cli", "--data-dir", server.server.configuration.dataDir]).text
            let second = try await cuecast(["push", "add", "live/cli", "rtmp://127.0.0.1:1/live/other-key-77", "--disabled"] + connection)
            #expect(!second.stderr.contains("no active stream key"), "the stream has its key now: \(second.stderr)")
            let secondID = try #require(second.text.split(separator: " ").dropFirst().first.map(String.init))
            _ = try await cuecast(["push", "remove", "live/cli", secondID] + connection)
            _ = try await publish
            #expect(sessions.contains("live/cli") && sessions.contains("→ live (figures when it ends"), "\(sessions)")
            // The record is closed once the server has seen the publisher go: poll for it.
            var ended = ""
            for _ in 0..<100 where ended.isEmpty || ended.contains("→ live") {
                ended = try await cuecast(["sessions", "--stream", "live/cli", "--data-dir", server.server.configuration.dataDir]).text
                if ended.contains("→ live") { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ended.contains("audio=aac/") && !ended.contains("→ live"), "\(ended)")
            #expect(failing.contains("last error at 20") && failing.contains("127.0.0.1:1: connection refused"), "\(failing)")
            #expect(failing.contains("retrying") && failing.contains("next try at 20"), "\(failing)")
            _ = try await cuecast(["push", "disable", "live/cli", id] + connection)
            #expect(try await cuecast(["push", "list", "live/cli"] + connection).text.contains("disabled"))
            _ = try await cuecast(["push", "remove", "live/cli", id] + connection)
            #expect(try await cuecast(["push", "list", "live/cli"] + connection).text.contains("no push targets"))
            // A stream without its app is a usage error, caught before anything is sent.
            let noApp = try await cuecast(["push", "add", "cli", "rtmp://127.0.0.1:1/live/k-0123456789"] + connection, requireSuccess: false)
            #expect(noApp.status == 64)
            #expect(noApp.stderr.contains("stream must be <app>/<name>") && noApp.stderr.contains("Usage: cuecast push add"), "\(noApp.stderr)")
            // No token where the command looks: not a usage error (exit 1), and it says where it looked.
            let noToken = try await cuecast(["push", "list", "--server", server.httpBase, "--data-dir", "/nonexistent-cuecast"], requireSuccess: false)
            #expect(noToken.status == 1)
            #expect(noToken.stderr.contains("no admin token: /nonexistent-cuecast/admin-token is not there") && !noToken.stderr.contains("Usage:"), "\(noToken.stderr)")
            let bad = try await cuecast(["push", "add", "live/cli", "http://example.com/a/b"] + connection, requireSuccess: false)
            // The server's refusal is a failure of the command (exit 1), not a usage error (64, with usage text).
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("rtmp://") && !bad.stderr.contains("Usage:"), "\(bad.stderr)")
            let help = try await cuecast(["push", "--help"]).text
            #expect(help.contains("add") && help.contains("disable"))
        }
        // No server there: the command says so and how to start one.
        let port = try await Nginx.freePort()
        let down = try await cuecast(["push", "list", "live/cli", "--server", "http://127.0.0.1:\(port)", "--token", "at_x"], requireSuccess: false)
        #expect(down.status == 1)
        #expect(down.stderr.contains("cannot reach the server at http://127.0.0.1:\(port) (connection refused)"), "\(down.stderr)")
        #expect(down.stderr.contains("cuecast serve") && !down.stderr.contains("Usage:"), "\(down.stderr)")
    }

    @Test func serveHelpExplainsSettings() async throws {
        let help = try await cuecast(["serve", "--help"]).text
        for text in ["--rtmp-port", "--http-port", "--data-dir", "--config", "CUECAST_", "admin-token"] {
            #expect(help.contains(text), "\(text) missing from serve --help")
        }
    }

    @Test func badConfigurationIsRefusedClearly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.path + "/config.json"
        try Data(#"{"rtmp-prot": 1935}"#.utf8).write(to: URL(fileURLWithPath: file))
        let output = try await cuecast(["serve", "--config", file, "--data-dir", dir.path], requireSuccess: false)
        #expect(output.status != 0)
        #expect(output.stderr.contains("unknown setting 'rtmp-prot'"))
    }

    /// Each flag reaches its setting: an out-of-range value given as a flag is refused by name.
    @Test func flagsReachTheirSettings() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try await cuecast(["serve", "--publish-gather-ms", "101", "--data-dir", dir.path], requireSuccess: false)
        #expect(output.status != 0)
        #expect(output.stderr.contains("invalid value '101' for publish-gather-ms"), "\(output.stderr)")
    }
}

@Suite struct ServerConfigurationTests {
    @Test func precedenceIsDefaultsThenFileThenEnvironmentThenFlags() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.path + "/config.json"
        try Data(#"{"rtmp-port": 1000, "http-port": 2000, "idle-timeout": 5}"#.utf8).write(to: URL(fileURLWithPath: file))
        var configuration = ServerConfiguration()
        try configuration.apply(configFile: file)
        try configuration.apply(environment: [
            "CUECAST_HTTP_PORT": "3000", "CUECAST_IDLE_TIMEOUT": "7", "CUECAST_PUBLISH_GATHER_MS": "45", "OTHER": "x",
        ])
        try configuration.set("idle-timeout", to: "9")
        #expect(configuration.rtmpPort == 1000)
        #expect(configuration.httpPort == 3000)
        #expect(configuration.idleTimeout == 9)
        #expect(configuration.handshakeTimeout == 10)
        #expect(configuration.rtmpConnection.idleTimeoutSeconds == 9)
        #expect(configuration.rtmpConnection.gatherMilliseconds == 45)
    }

    @Test func invalidValuesAreErrors() {
        var configuration = ServerConfiguration()
        #expect(throws: ConfigurationError.invalid("port", "70000")) { try configuration.set("rtmp-port", to: "70000") }
        #expect(throws: ConfigurationError.invalid("idle-timeout", "0")) { try configuration.set("idle-timeout", to: "0") }
        #expect(throws: ConfigurationError.unknownKey("nope")) { try configuration.set("nope", to: "1") }
        #expect(throws: ConfigurationError.invalid("log-level", "loud")) { try configuration.set("log-level", to: "loud") }
        #expect(throws: ConfigurationError.invalid("stats", "maybe")) { try configuration.set("stats", to: "maybe") }
        // The receive low watermark's share of the stream: 0 (wake on every byte) to 100 ms.
        #expect(configuration.rtmpConnection.gatherMilliseconds == 30)
        for bad in ["-1", "101", "2.5", "soon"] {
            #expect(throws: ConfigurationError.invalid("publish-gather-ms", bad)) { try configuration.set("publish-gather-ms", to: bad) }
        }
        #expect(throws: Never.self) { try configuration.set("publish-gather-ms", to: "60") }
        #expect(configuration.rtmpConnection.gatherMilliseconds == 60)
        #expect(throws: Never.self) { try configuration.set("publish-gather-ms", to: "0") }
        #expect(configuration.rtmpConnection.gatherMilliseconds == 0)
        #expect(configuration.statistics)
        #expect(throws: Never.self) { try configuration.set("stats", to: "off") }
        #expect(!configuration.statistics)
        // hls.js for the viewer page: an http(s) URL or a file that exists.
        #expect(throws: ConfigurationError.invalid("hlsjs", "/no/such/hls.js (neither an http(s) URL nor a readable file)")) {
            try configuration.set("hlsjs", to: "/no/such/hls.js")
        }
        #expect(throws: ConfigurationError.invalid("hlsjs", "ftp://cdn.example/hls.js (neither an http(s) URL nor a readable file)")) {
            try configuration.set("hlsjs", to: "ftp://cdn.example/hls.js")
        }
        #expect(throws: Never.self) { try configuration.set("hlsjs", to: "https://cdn.example.cn/hls.js@1.6/hls.min.js") }
        #expect(configuration.hlsjs == "https://cdn.example.cn/hls.js@1.6/hls.min.js")
    }

    @Test func cpuListsAreCounted() {
        #expect(ProcessFigures.cpuCount(list: "0") == 1)
        #expect(ProcessFigures.cpuCount(list: "0-3,8,10-11") == 7)
        for bad in ["", "3-1", "a", "1-2-3", "0,,1"] {
            #expect(ProcessFigures.cpuCount(list: bad) == nil, "\(bad)")
        }
    }

    /// A server confined to one CPU runs one event loop, not one per core of the machine.
    @Test func eventLoopsFollowTheCPUsTheServerMayUse() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try await Tool("timeout").run(
            ["-s", "INT", "5", "taskset", "-c", "0", CLITests.binary, "serve", "--data-dir", dir.path, "--rtmp-port", "0", "--http-port", "0",
             "--host", "127.0.0.1"],
            timeout: 30, requireSuccess: false)
        #expect(output.text.contains("Event loops:  1 "), "\(output.text)")

        // NIO's own variable still wins.
        let overridden = try await Tool("env").run(
            ["NIO_SINGLETON_GROUP_LOOP_COUNT=3", "timeout", "-s", "INT", "5", "taskset", "-c", "0", CLITests.binary, "serve", "--data-dir", dir.path,
             "--rtmp-port", "0", "--http-port", "0", "--host", "127.0.0.1"],
            timeout: 30, requireSuccess: false)
        #expect(overridden.text.contains("Event loops:  3 "), "\(overridden.text)")
    }

    /// Every segment held is an open file: the server lifts the soft limit on them to the hard one.
    @Test func openFileLimitIsRaisedToTheHardLimit() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try await Tool("prlimit").run(
            ["--nofile=1024:4096", "timeout", "-s", "INT", "5", CLITests.binary, "serve", "--data-dir", dir.path, "--rtmp-port", "0",
             "--http-port", "0", "--host", "127.0.0.1"],
            timeout: 30, requireSuccess: false)
        #expect(output.text.contains("Open files:   4096 (42 per live stream's segments: about 93 live streams)"), "\(output.text)")
    }

    @Test func adminTokenIsGeneratedOnceAndKept() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = try AdminToken.load(configured: nil, dataDir: dir.path)
        #expect(first.created)
        #expect(first.token.count >= 32)
        let second = try AdminToken.load(configured: nil, dataDir: dir.path)
        #expect(!second.created)
        #expect(second.token == first.token)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/admin-token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try AdminToken.load(configured: "given", dataDir: dir.path).token == "given")
    }
}

@Suite struct CueCLITests {
    @Test func pinFromTheCommandLine() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/demo")
            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/demo?key=\(secret)")
            try await server.eventually("stream live") { server.server.hub.stream(StreamPath("live/demo")!) != nil }
            let cli = CLITests()
            let dataDir = server.server.configuration.dataDir
            let pinned = try await cli.cuecast([
                "cue", "pin", "live/demo", "--sku", "A1", "--title", "Tea set", "--price", "199", "--currency", "CNY",
                "--server", server.httpBase, "--data-dir", dataDir,
            ]).text
            #expect(pinned.hasPrefix("placed product.pin cue_"), "\(pinned)")
            let listed = try await cli.cuecast(["cue", "list", "live/demo", "--server", server.httpBase, "--data-dir", dataDir]).text
            #expect(listed.contains("product.pin") && listed.contains(#""title":"Tea set""#), "\(listed)")
            let refused = try await cli.cuecast(
                ["cue", "pin", "live/demo", "--sku", "A1", "--title", "T", "--price", "1", "--currency", "yuan", "--server", server.httpBase, "--data-dir", dataDir],
                requireSuccess: false)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("400") && refused.stderr.contains("payload.currency"), "\(refused.stderr)")
            _ = try await publish
        }
    }
}

@Suite struct StatsCLITests {
    @Test func followRedrawsOnATerminalAndPrintsLinesWhenPiped() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/top")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/top?key=\(secret)", loops: 1)
            defer { publish.cancel() }
            try await server.eventually("stream live") { server.server.hub.stream(StreamPath("live/top")!) != nil }
            let dataDir = server.server.configuration.dataDir
            let command = "\(CLITests.binary) stats --follow --server \(server.httpBase) --data-dir \(dataDir)"
            // `script` gives the command a pseudo-terminal, as an operator's shell would.
            let terminal = try await Tool("timeout").run(["4", "script", "-qfec", command, "/dev/null"], timeout: 20, requireSuccess: false)
            let screens = terminal.text.components(separatedBy: "\u{1B}[H\u{1B}[2J").filter { !$0.isEmpty }
            #expect(screens.count >= 3, "redrew \(screens.count) times")
            let rows = screens.compactMap { $0.split(whereSeparator: \.isNewline).first { $0.hasPrefix("live/top") } }
            #expect(rows.count >= 3)
            #expect(Set(rows).count >= 2, "the row changes between redraws: \(rows)")
            #expect(screens.last?.contains("STREAM") == true && screens.last?.contains("h264 640x360") == true)

            let piped = try await CLITests().cuecast(["stats", "--server", server.httpBase, "--data-dir", dataDir]).text
            #expect(!piped.contains("\u{1B}"))
            #expect(piped.contains("live/top"))
            let json = try await CLITests().cuecast(["stats", "--json", "--server", server.httpBase, "--data-dir", dataDir]).text
            #expect(json.contains("\"stream\":\"live/top\""))
        }
    }
}

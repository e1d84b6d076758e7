import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// The publish/play hook against a real HTTP server (`scripts/testing/hook_receiver.py`), which checks each
/// signature with Python's own HMAC and decides by stream name: allow, deny, slow, bad JSON, rename.
@Suite struct HookTests {
    static let secret = "hook-secret-for-tests"

    /// The receiver, its port, and the events it logged (one JSON line each).
    final class Receiver: Sendable {
        let process: Process
        let port: Int
        let directory: TemporaryDirectory
        var logPath: String { directory.path + "/events.jsonl" }
        func logText() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        init() throws {
            directory = try TemporaryDirectory()
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let script = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/hook_receiver.py").path
            process.arguments = ["python3", script, "--secret", HookTests.secret, "--log", directory.path + "/events.jsonl"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            port = try #require(Int(String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        var url: String { "http://127.0.0.1:\(port)/hooks/cuecast" }

        /// Every logged request: (the event's fields, whether its signature checked out).
        var events: [(event: [String: Any], signatureValid: Bool)] {
            logText().split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let event = object["event"] as? [String: Any]
                else { return nil }
                return (event, object["signatureValid"] as? Bool ?? false)
            }
        }

        func actions(for stream: String) -> [String] {
            events.filter { $0.event["stream"] as? String == stream }.compactMap { $0.event["action"] as? String }
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            directory.remove()
        }
    }

    static func withHookedServer(timeout: Double = 3, hookURL: ((Receiver) -> String)? = nil, _ body: (TestServer, Receiver) async throws -> Void) async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try await withServer(configure: {
            $0.onPublishURL = hookURL?(receiver) ?? receiver.url
            $0.hookSecret = secret
            $0.hookTimeout = timeout
            $0.hls.gracePeriod = 1
        }) { server in
            try await body(server, receiver)
        }
    }

    /// Publishes `name` (URL form, with its key) with the raw client and returns the status codes and descriptions.
    static func refusedPublish(_ server: TestServer, name: String, query: String = "") async throws -> (codes: [String], descriptions: [String]) {
        let secret = try await server.server.keys.add(stream: "live/\(name)")
        let client = try await RawRTMPClient.connect(port: server.rtmpPort)
        let reply = try await client.sendAndAwaitClose(RefusalTests.publishBytes(name: "\(name)?key=\(secret)\(query)"))
        return (try RefusalTests.statusCodes(reply), try RefusalTests.statusDescriptions(reply))
    }

    @Test func anAllowedPublishAndPlayAreAskedAndToldWithSignedEvents() async throws {
        try await Self.withHookedServer { server, receiver in
            let path = StreamPath("live/allow1")!
            let publish = try await server.publishLive(path, loops: 0, query: "&shop=42")
            let (play, _) = try await RTMPPlayTests.play("\(server.rtmpBase)/live/allow1?viewer=7", seconds: 3)
            #expect(play.statuses.map(\.code).contains("NetStream.Play.Start"))
            _ = try await publish.value
            try await server.eventually("publish_done and play_done told") {
                Set(receiver.actions(for: "allow1")) == ["publish", "play", "play_done", "publish_done"]
            }
            let events = receiver.events.map(\.event)
            #expect(receiver.events.allSatisfy { $0.signatureValid })
            let publishes = events.filter { ($0["action"] as? String)?.hasPrefix("publish") == true }
            let plays = events.filter { ($0["action"] as? String)?.hasPrefix("play") == true }
            // An admission and its _done share a session id; publisher and player differ.
            #expect(Set(publishes.compactMap { $0["sessionID"] as? String }).count == 1)
            #expect(Set(plays.compactMap { $0["sessionID"] as? String }).count == 1)
            #expect(publishes.first?["sessionID"] as? String != plays.first?["sessionID"] as? String)
            for event in events {
                #expect(event["app"] as? String == "live")
                #expect(event["protocol"] as? String == "rtmp")
                #expect((event["clientAddress"] as? String)?.hasPrefix("127.0.0.1:") == true)
                #expect((event["time"] as? String)?.hasSuffix("Z") == true)
            }
            #expect(publishes.first?["query"] as? [String: String] == ["shop": "42"])
            #expect(plays.first?["query"] as? [String: String] == ["viewer": "7"])
            // The stream key never leaves CueCast.
            #expect(!receiver.logText().contains("key") && !receiver.logText().contains("sk_"))
        }
    }

    @Test func refusalsFailClosedWithTheHooksReasonAndOthersGoOn() async throws {
        try await Self.withHookedServer(timeout: 1) { server, receiver in
            let denied = try await Self.refusedPublish(server, name: "deny1")
            #expect(denied.codes == ["NetStream.Publish.Denied"])
            #expect(denied.descriptions == ["hook answered 403: merchant suspended"])

            let started = ContinuousClock.now
            let slow = try await Self.refusedPublish(server, name: "slow1")
            #expect(slow.codes == ["NetStream.Publish.Denied"])
            #expect(slow.descriptions.first?.contains("did not answer within") == true, "\(slow.descriptions)")
            #expect(ContinuousClock.now - started < .seconds(8), "refused at the 1 s timeout, not when the hook answered")

            let badJSON = try await Self.refusedPublish(server, name: "badjson1")
            #expect(badJSON.codes == ["NetStream.Publish.Denied"])
            #expect(badJSON.descriptions == ["hook answered 200 with a body that is not a JSON object"])

            #expect(server.server.hub.liveStreams.isEmpty)
            #expect(server.logs.contains("publish refused by hook"))
            #expect(server.logs.contains("merchant suspended"))
            // ffmpeg shows the reason too, and an allowed stream publishes in between.
            let secret = try await server.server.keys.add(stream: "live/deny2")
            let output = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/deny2?key=\(secret)", realtime: false, requireSuccess: false)
            #expect(output.status != 0)
            #expect(output.stderr.contains("merchant suspended"), "\(output.stderr)")
            let publish = try await server.publishLive(StreamPath("live/fine")!, loops: 0)
            _ = try await publish.value
            #expect(receiver.actions(for: "deny1") == ["publish"], "a refused publish has no publish_done")
        }
    }

    @Test func aHookThatCannotBeReachedRefuses() async throws {
        let closed = try await Nginx.freePort()
        try await Self.withHookedServer(hookURL: { _ in "http://127.0.0.1:\(closed)/hook" }) { server, _ in
            let refused = try await Self.refusedPublish(server, name: "shop1")
            #expect(refused.codes == ["NetStream.Publish.Denied"])
            #expect(refused.descriptions.first?.hasPrefix("hook could not be reached") == true, "\(refused.descriptions)")
            #expect(server.server.hub.liveStreams.isEmpty)
        }
    }

    @Test func theHookCanRenameTheStream() async throws {
        try await Self.withHookedServer { server, receiver in
            let secret = try await server.server.keys.add(stream: "live/rename1")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/rename1?key=\(secret)", loops: 0)
            try await server.eventually("renamed stream live") { server.server.hub.stream(StreamPath("live/renamed")!) != nil }
            #expect(server.server.hub.stream(StreamPath("live/rename1")!) == nil)
            // Revoking the key ends the publish it made, under whatever name the hook gave it.
            #expect(try await server.request(.DELETE, "/api/v1/keys/live/rename1").status == 204)
            try await server.eventually("the renamed publish ended") { server.server.hub.stream(StreamPath("live/renamed")!) == nil }
            _ = try? await publish.value  // ffmpeg fails: its publish was ended
            try await server.eventually("publish_done for the new name") { receiver.actions(for: "renamed") == ["publish_done"] }
            #expect(server.logs.contains("hook renamed the stream"))
        }
    }

    @Test func keysAreCheckedBeforeTheHookIsAsked() async throws {
        try await Self.withHookedServer { server, receiver in
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            let reply = try await client.sendAndAwaitClose(RefusalTests.publishBytes(name: "sk_" + String(repeating: "1", count: 40)))
            #expect(try RefusalTests.statusCodes(reply) == ["NetStream.Publish.BadName"])
            #expect(receiver.events.isEmpty)
        }
    }

    @Test func aDeniedPlayGetsPlayFailedWithTheReason() async throws {
        try await Self.withHookedServer { server, receiver in
            let output = try await Tool("python3").run(
                [RTMPPlayTests.client, "\(server.rtmpBase)/live/deny-viewer", "--seconds", "10", "--until-status", "NetStream.Play.Failed"], timeout: 40)
            let play = try JSONDecoder().decode(RTMPPlayTests.Play.self, from: Data(output.text.utf8))
            let failed = try #require(play.statuses.first { $0.code == "NetStream.Play.Failed" })
            #expect(failed.description == "hook answered 403: merchant suspended")
            #expect(receiver.actions(for: "deny-viewer") == ["play"])
            #expect(server.logs.contains("play refused by hook"))
        }
    }
}

extension HookTests {
    @Test func httpFLVViewersAreAskedAndToldToo() async throws {
        try await Self.withHookedServer { server, receiver in
            let publish = try await server.publishLive(StreamPath("live/flvshow")!, loops: 1)
            defer { publish.cancel() }
            // curl as the viewer: it reads for 2 s and hangs up.
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let file = directory.path + "/watched.flv"
            let curl = try await Tool("curl").run(
                ["-s", "-m", "2", "-o", file, "-w", "%{http_code}", "\(server.httpBase)/live/flvshow.flv?viewer=9"], timeout: 30, requireSuccess: false)
            #expect(curl.text.hasPrefix("200"))
            let watched = FileManager.default.contents(atPath: file) ?? Data()
            #expect(watched.count > 10_000 && watched.starts(with: Array("FLV".utf8)))
            try await server.eventually("play_done told") { receiver.actions(for: "flvshow").contains("play_done") }
            let plays = receiver.events.map(\.event).filter { ($0["action"] as? String)?.hasPrefix("play") == true }
            #expect(plays.compactMap { $0["protocol"] as? String } == ["http-flv", "http-flv"])
            #expect(plays.first?["query"] as? [String: String] == ["viewer": "9"])
            #expect(Set(plays.compactMap { $0["sessionID"] as? String }).count == 1)

            let denied = try await server.fetch("/live/deny-flv.flv")
            #expect(denied.status == 403)
            let reason = try JSONSerialization.jsonObject(with: Data(denied.body)) as? [String: [String: Any]]
            #expect(reason?["error"]?["message"] as? String == "hook answered 403: merchant suspended")
        }
    }

    /// The receiver answers the first `publish_done` with 503; CueCast tries again a second later.
    @Test func doneEventsAreRetried() async throws {
        try await Self.withHookedServer { server, receiver in
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            let secret = try await server.server.keys.add(stream: "live/flaky1")
            let codes = try await client.publish(
                setup: RefusalTests.publishBytes(name: "flaky1?key=\(secret)"), awaiting: "NetStream.Publish.Start", media: ByteBuffer())
            #expect(codes.contains("NetStream.Publish.Start"))
            try await server.eventually("publish_done delivered on the second try") {
                receiver.actions(for: "flaky1") == ["publish", "publish_done", "publish_done"]
            }
            #expect(server.logs.contains("hook answered 503"))
        }
    }
}

import FLV
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

@Suite struct RefusalTests {
    /// connect, createStream and publish, as an encoder sends them.
    static func publishBytes(app: String = "live", name: String) -> ByteBuffer {
        var bytes = RawRTMPClient.handshakeBytes
        var chunks = RawRTMPClient.chunks([
            Command(name: "connect", transactionID: 1, commandObject: .object([("app", .string(app)), ("tcUrl", .string("rtmp://127.0.0.1/\(app)"))])).message(),
            Command(name: "createStream", transactionID: 2).message(),
            Command(name: "publish", transactionID: 3, arguments: [.string(name), .string("live")]).message(chunkStreamID: 4, messageStreamID: 1),
        ])
        bytes.writeBuffer(&chunks)
        return bytes
    }

    static func statusCodes(_ reply: ByteBuffer) throws -> [String] {
        try RawRTMPClient.messages(in: reply).filter { $0.type == .commandAMF0 }.map { try Command($0) }
            .filter { $0.name == "onStatus" }.compactMap { $0.arguments.first?["code"]?.stringValue }
    }

    static func statusDescriptions(_ reply: ByteBuffer) throws -> [String] {
        try RawRTMPClient.messages(in: reply).filter { $0.type == .commandAMF0 }.map { try Command($0) }
            .filter { $0.name == "onStatus" }.compactMap { $0.arguments.first?["description"]?.stringValue }
    }

    @Test func unknownKeyGetsBadNameAndClose() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/shop1")
            let bogus = "sk_" + String(repeating: "0", count: 40)
            for name in [bogus, "shop1?key=\(bogus)", "shop2?key=\(secret)"] {
                let client = try await RawRTMPClient.connect(port: server.rtmpPort)
                let reply = try await client.sendAndAwaitClose(Self.publishBytes(name: name))
                #expect(try Self.statusCodes(reply) == ["NetStream.Publish.BadName"])
                let descriptions = try Self.statusDescriptions(reply)
                #expect(!descriptions.contains { $0.contains("sk_") })
            }
            // A key for app "live" does not publish under another app.
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            #expect(try Self.statusCodes(try await client.sendAndAwaitClose(Self.publishBytes(app: "other", name: secret))) == ["NetStream.Publish.BadName"])
            #expect(try await server.server.sessions.recent().isEmpty)
            #expect(server.logs.contains("publish refused"))
            #expect(!server.logs.all.contains { $0.contains(secret) || $0.contains(bogus) })
        }
    }

    @Test func ffmpegSeesTheRefusalReason() async throws {
        try await withServer { server in
            let output = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/sk_nope", realtime: false, requireSuccess: false)
            #expect(output.status != 0)
            #expect(output.stderr.contains("unknown or revoked stream key"), "\(output.stderr)")
        }
    }

    @Test func secondPublisherIsRefusedAndTheFirstLosesNothing() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/shop1")
            let recording = server.record(StreamPath("live/shop1")!)
            async let first = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/shop1?key=\(secret)")
            try await server.eventually("first publisher to be live") { server.server.hub.stream(StreamPath("live/shop1")!) != nil }
            let intruder = try await RawRTMPClient.connect(port: server.rtmpPort)
            let reply = try await intruder.sendAndAwaitClose(Self.publishBytes(name: secret))
            #expect(try Self.statusCodes(reply) == ["NetStream.Publish.BadName"])
            #expect(try Self.statusDescriptions(reply) == ["stream live/shop1 is already being published"])
            _ = try await first
            expectLossless(await recording.value, facts)
            #expect(server.logs.contains("stream is already live"))
        }
    }

    @Test func keysAddedAndRevokedThroughTheAPITakeEffectAtOnce() async throws {
        try await withServer { server in
            let created = try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "live/api1"}"#)
            #expect(created.status == 201)
            struct NewKey: Decodable { var stream: String; var key: String; var publishURL: String }
            let key = try JSONDecoder().decode(NewKey.self, from: Data(created.body.utf8))
            #expect(key.stream == "live/api1")
            #expect(key.publishURL.hasSuffix("/live"))
            _ = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/\(key.key)", realtime: false)
            #expect(try await server.server.sessions.recent(stream: "live/api1").count == 1)

            let listed = try await server.request(.GET, "/api/v1/keys")
            #expect(listed.body.contains("live/api1"))
            #expect(!listed.body.contains(key.key))

            #expect(try await server.request(.DELETE, "/api/v1/keys/live/api1").status == 204)
            let refused = try await ffmpegPublish(Fixtures.audioOnly, to: "\(server.rtmpBase)/live/\(key.key)", realtime: false, requireSuccess: false)
            #expect(refused.status != 0)
            #expect(try await server.server.sessions.recent(stream: "live/api1").count == 1)
        }
    }

    /// An app named like one of the server's own URLs cannot get a key: its HTTP-FLV URL would collide.
    @Test(arguments: ["hls", "api", "watch", "console", "metrics", "healthz"])
    func reservedAppNamesGetNoKey(app: String) async throws {
        try await withServer { server in
            let refused = try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "\#(app)/show"}"#)
            #expect(refused.status == 400)
            #expect(refused.body.contains("reserved"), "\(refused.body)")
        }
    }

    @Test func apiErrors() async throws {
        try await withServer { server in
            #expect(try await server.request(.GET, "/healthz", token: .some(nil)).status == 200)
            let noToken = try await server.request(.GET, "/api/v1/streams", token: .some(nil))
            #expect(noToken.status == 401)
            #expect(noToken.body.contains("missing Authorization"))
            #expect(try await server.request(.GET, "/api/v1/streams", token: "wrong").status == 401)
            #expect(try await server.request(.POST, "/api/v1/keys", body: "{not json").status == 400)
            let badPath = try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "../etc/passwd"}"#)
            #expect(badPath.status == 400)
            #expect(badPath.body.contains(#""field":"stream""#))
            #expect(try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "live/dup"}"#).status == 201)
            #expect(try await server.request(.POST, "/api/v1/keys", body: #"{"stream": "live/dup"}"#).status == 409)
            #expect(try await server.request(.DELETE, "/api/v1/keys/live/none").status == 404)
            #expect(try await server.request(.GET, "/api/v1/streams/live/none").status == 404)
        }
    }
}

@Suite struct RevocationTests {
    @Test func revokingAKeyThroughTheAPIEndsItsLivePublish() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/rev")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/rev?key=\(secret)", loops: 2)
            try await server.eventually("stream live") { server.server.hub.stream(StreamPath("live/rev")!) != nil }
            #expect(try await server.request(.DELETE, "/api/v1/keys/live/rev").status == 204)
            try await server.eventually(timeout: 5, "publish to end") { server.server.hub.stream(StreamPath("live/rev")!) == nil }
            try await server.eventually("session recorded") {
                try await server.server.sessions.recent(stream: "live/rev").first?.endReason == "stream key revoked"
            }
            let result = await publish.result
            #expect((try? result.get()) == nil, "ffmpeg's publish failed when the server closed it")
            #expect(server.logs.contains("ending publish"))
        }
    }
}

@Suite struct PublishAttemptLimitTests {
    /// Twelve publishes with good keys at once from one address (a studio behind NAT) with a limit of 2 failures:
    /// the ones past the burst wait while the others' keys are checked, and all twelve go live.
    @Test func parallelGoodPublishesFromOneAddressAreAllAdmitted() async throws {
        try await withServer(configure: { $0.publishFailuresPerMinute = 2 }) { server in
            var secrets: [String] = []
            for n in 0..<12 { secrets.append(try await server.server.keys.add(stream: "live/room\(n)")) }
            let outcomes = await withTaskGroup(of: String.self) { group in
                for secret in secrets {
                    group.addTask {
                        do {
                            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
                            let codes = try await client.publish(
                                setup: RefusalTests.publishBytes(name: secret), awaiting: "NetStream.Publish.Start", media: ByteBuffer())
                            return codes.last ?? "none"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes == Array(repeating: "NetStream.Publish.Start", count: 12), "\(outcomes)")
            #expect(!server.logs.contains("too many failed attempts"))
        }
    }

    /// Three failures from one address, then even the right key is refused without a lookup, with a log line,
    /// a metric and the wait in the reason; the refusal does not touch a stream already live.
    @Test func failedPublishesAreRateLimitedPerAddress() async throws {
        try await withServer(configure: { $0.publishFailuresPerMinute = 3 }) { server in
            let live = try await server.publishLive(StreamPath("live/running")!, loops: 1)
            let secret = try await server.server.keys.add(stream: "live/shop1")
            for attempt in 0..<3 {
                let client = try await RawRTMPClient.connect(port: server.rtmpPort)
                let reply = try await client.sendAndAwaitClose(RefusalTests.publishBytes(name: "sk_guess\(attempt)"))
                #expect(try RefusalTests.statusCodes(reply) == ["NetStream.Publish.BadName"])
            }
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            let reply = try await client.sendAndAwaitClose(RefusalTests.publishBytes(name: secret))
            #expect(try RefusalTests.statusCodes(reply) == ["NetStream.Publish.Denied"])
            let description = try #require(try RefusalTests.statusDescriptions(reply).first)
            // 3 per minute: the next attempt is 20 s away.
            #expect(description.hasPrefix("too many failed publish attempts from 127.0.0.1; retry in "), "\(description)")
            let wait = try #require(Int(description.split(separator: " ").dropLast().last ?? ""))
            #expect((15...20).contains(wait))
            #expect(server.logs.contains("too many failed attempts"))
            let metrics = try await server.request(.GET, "/metrics").body
            #expect(metrics.contains("cuecast_publish_rate_limited_total 1"), "\(metrics)")
            #expect(metrics.contains("cuecast_publish_refused_total 4"))
            #expect(server.server.hub.stream(StreamPath("live/running")!) != nil, "the live stream goes on")
            live.cancel()
        }
    }
}

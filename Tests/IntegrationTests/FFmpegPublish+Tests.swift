import AsyncHTTPClient
import Foundation
import Media
import StreamHub
import Testing
import TestSupport

@Suite(.serialized) struct FFmpegPublishTests {
    struct StreamList: Decodable { var streams: [StreamSnapshot] }

    @Test func ffmpegPublishesTheBFrameFixtureLosslessly() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/shop1")
            let recording = server.record(StreamPath("live/shop1")!)
            // OBS form: server URL is rtmp://host/live, stream key is the secret.
            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/\(secret)")

            var live: StreamSnapshot?
            try await server.eventually("stream to be listed with its codecs") {
                let response = try await server.request(.GET, "/api/v1/streams")
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                live = try decoder.decode(StreamList.self, from: Data(response.body.utf8)).streams.first
                return live?.codecs.count == 2 && (live?.counters.videoFrames ?? 0) > 0
            }
            let output = try await publish
            let events = await recording.value

            expectLossless(events, facts)
            let snapshot = try #require(live)
            #expect(snapshot.stream == "live/shop1")
            #expect(snapshot.video?.codec == .h264)
            #expect(snapshot.video?.profile == "High")
            #expect(snapshot.video?.width == 640)
            #expect(snapshot.video?.height == 360)
            #expect(snapshot.audio?.sampleRate == 48000)
            #expect(snapshot.audio?.channels == 2)
            #expect(snapshot.codecs.first?.hasPrefix("avc1.64") == true)
            #expect(snapshot.codecs.last == "mp4a.40.2")
            #expect(snapshot.remoteAddress.hasPrefix("127.0.0.1:"))

            // The session record has the final counters.
            var record: Store.PublishSessionRecord?
            try await server.eventually("session to be recorded as ended") {
                record = try await server.server.sessions.recent(stream: "live/shop1").first
                return record?.endedAt != nil
            }
            #expect(record?.videoFrames == Int64(facts.video.count))
            #expect(record?.audioFrames == Int64(facts.audio.count))
            #expect(record?.videoCodec == "h264")
            #expect(record?.audioCodec == "aac")
            #expect(record?.encoder?.hasPrefix("Lavf") == true)

            // The secret appears in no log line and in no API answer.
            #expect(!server.logs.all.contains { $0.contains(secret) })
            #expect(!(try await server.request(.GET, "/api/v1/sessions")).body.contains(secret))
            #expect(server.logs.contains("publish started"))
            #expect(!output.stderr.contains("Error"))
        }
    }

    @Test func videoOnlyAndAudioOnlyFixtures() async throws {
        try await withServer { server in
            for (fixture, stream) in [(Fixtures.videoOnly, "v"), (Fixtures.audioOnly, "a")] {
                let facts = try await FixtureFacts.of(fixture)
                let secret = try await server.server.keys.add(stream: "live/\(stream)")
                let recording = server.record(StreamPath(app: "live", name: stream)!)
                _ = try await ffmpegPublish(fixture, to: "\(server.rtmpBase)/live/\(stream)?key=\(secret)", realtime: false)
                let events = await recording.value
                #expect(events.frames(.video).count == facts.video.count)
                #expect(events.frames(.audio).count == facts.audio.count)
            }
        }
    }

    @Test func ffmpegPlayOfAStreamNotLiveGetsStreamNotFoundAfterADigestHandshake() async throws {
        // ffmpeg verifies the server's handshake digest when it plays: reaching the refusal proves the digest.
        try await withServer { server in
            let output = try await Tool("ffmpeg").run(
                ["-hide_banner", "-nostdin", "-i", "\(server.rtmpBase)/live/anything", "-f", "null", "-"], timeout: 30,
                requireSuccess: false)
            #expect(output.status != 0)
            #expect(output.stderr.contains("no live stream live/anything"), "\(output.stderr)")
            #expect(!output.stderr.contains("validating failed"))
            #expect(server.logs.contains("play refused"))
        }
    }
}

import Store

import FLV
import FFmpeg
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// Streamer apps send cues inside the stream: `onTextData` with cue JSON and `onCuePoint` with the kind as its
/// name. The test publishes the fixture's frames itself so it can put the data messages at known media times.
@Suite struct InBandCueTests {
    @Test func dataMessagesBecomeCuesAtTheirMediaTime() async throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.bframes))
        let streams = input.streams
        var messages: [RTMPMessage] = []
        var video = ByteBuffer(bytes: [0x17, 0, 0, 0, 0])
        video.writeBytes(streams[0].extradata)
        messages.append(RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: video))
        var audio = ByteBuffer(bytes: [0xAF, 0])
        audio.writeBytes(streams[1].extradata)
        messages.append(RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 8, messageStreamID: 1, payload: audio))
        var textSent = false
        var cuePointSent = false
        // Video frames in the order they are sent, with how many data messages went before each.
        var videoFrames: [(pts: Int64, cuesBefore: Int)] = []
        while let packet = try input.readPacket() {
            let dts = packet.dts ?? 0
            if !textSent && dts >= 2000 {
                var data = ByteBuffer()
                data.writeAMF0(.string("onTextData"))
                data.writeAMF0(.object([("text", .string(#"{"id":"text-1","kind":"announcement","payload":{"text":"Flash sale!"}}"#))]))
                messages.append(RTMPMessage(chunkStreamID: 5, timestamp: 2000, typeID: 18, messageStreamID: 1, payload: data))
                textSent = true
            }
            if !cuePointSent && dts >= 4000 {
                var data = ByteBuffer()
                data.writeAMF0(.string("onCuePoint"))
                data.writeAMF0(.object([
                    ("name", .string("product.pin")), ("time", .number(4)), ("type", .string("event")),
                    ("parameters", .object([("cueId", .string("point-1")), ("sku", .string("B2")), ("title", .string("Teapot")), ("price", .string("59")), ("currency", .string("CNY"))])),
                ]))
                messages.append(RTMPMessage(chunkStreamID: 5, timestamp: 4000, typeID: 18, messageStreamID: 1, payload: data))
                cuePointSent = true
            }
            var body: ByteBuffer
            if packet.streamIndex == 0 {
                let cts = (packet.pts ?? dts) - dts
                body = ByteBuffer(bytes: [packet.isKeyframe ? 0x17 : 0x27, 1, UInt8((cts >> 16) & 0xFF), UInt8((cts >> 8) & 0xFF), UInt8(cts & 0xFF)])
                videoFrames.append((packet.pts ?? dts, (textSent ? 1 : 0) + (cuePointSent ? 1 : 0)))
            } else {
                body = ByteBuffer(bytes: [0xAF, 1])
            }
            body.writeBytes(packet.data)
            messages.append(RTMPMessage(chunkStreamID: packet.streamIndex == 0 ? 6 : 4, timestamp: UInt32(dts), typeID: packet.streamIndex == 0 ? 9 : 8, messageStreamID: 1, payload: body))
        }

        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/inband")
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            _ = try await client.publish(
                setup: RefusalTests.publishBytes(name: "inband?key=\(secret)"), awaiting: "NetStream.Publish.Start",
                media: RawRTMPClient.chunks(messages, chunkSize: 65536))
            var log = ""
            try await server.eventually("both in-band cues in the log") {
                log = try await server.request(.GET, "/api/v1/streams/live/inband/cues").body
                return log.contains("text-1") && log.contains("point-1")
            }
            struct Page: Decodable {
                struct Cue: Decodable {
                    var id: String
                    var kind: String
                    var pts: Int64
                    var source: String
                }
                var cues: [Cue]
            }
            let cues = try JSONDecoder().decode(Page.self, from: Data(log.utf8)).cues
            // Each is bound to the first video frame sent after it whose PTS is at or after its media time
            // (TS time = ms × 90 + 10 s).
            for (index, (id, time, kind)) in [("text-1", Int64(2000), "announcement"), ("point-1", Int64(4000), "product.pin")].enumerated() {
                let cue = try #require(cues.first { $0.id == id })
                #expect(cue.source == "in-band")
                #expect(cue.kind == kind)
                let frame = try #require(videoFrames.first { $0.cuesBefore > index && $0.pts >= time }?.pts)
                #expect(cue.pts == frame * 90 + 900_000, "\(id) bound to the frame at \(frame) ms")
            }
            #expect(log.contains(#""price":59"#), "numeric parameters of onCuePoint become numbers")
        }
    }
}

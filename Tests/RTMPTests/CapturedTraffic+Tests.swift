import FLV
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// Decodes the first 16 KiB that real publishers sent (recorded by scripts/capture-rtmp).
@Suite struct CapturedTrafficTests {
    struct Decoded {
        var clientKind: Handshake.ClientKind
        var messages: [RTMPMessage]
    }

    func decode(_ name: String) throws -> Decoded {
        var bytes = ByteBuffer(bytes: try Fixtures.data("captures/\(name)"))
        let c0c1 = bytes.readSlice(length: 1537)
        let c2 = bytes.readSlice(length: 1536)
        let kind = try Handshake.reply(c0c1: try #require(c0c1)).clientKind
        #expect(c2 != nil)
        var decoder = ChunkDecoder()
        var messages: [RTMPMessage] = []
        // The capture is cut off mid-message; everything before the cut must decode.
        while let message = try decoder.decode(buffer: &bytes) { messages.append(message) }
        return Decoded(clientKind: kind, messages: messages)
    }

    func commandNames(_ decoded: Decoded) throws -> [String] {
        try decoded.messages.filter { $0.type == .commandAMF0 || $0.type == .commandAMF3 }.map { try Command($0).name }
    }

    @Test func ffmpegPublish() throws {
        let decoded = try decode("ffmpeg-publish.bin")
        #expect(decoded.clientKind == .digest(scheme: 0))
        #expect(try commandNames(decoded) == ["connect", "releaseStream", "FCPublish", "createStream", "publish"])
        let connect = try Command(decoded.messages.first { $0.type == .commandAMF0 }!)
        #expect(connect.commandObject["app"]?.stringValue == "live")
        #expect(connect.commandObject["flashVer"]?.stringValue?.hasPrefix("FMLE/3.0") == true)
        // ffmpeg raises its chunk size to 4096 before publishing.
        #expect(try decoded.messages.compactMap { try ControlMessage($0) }.contains(.setChunkSize(4096)))
        try expectMetadataAndMedia(decoded)
    }

    @Test func gstreamerPublish() throws {
        let decoded = try decode("gstreamer-rtmp2sink-publish.bin")
        #expect(try commandNames(decoded).starts(with: ["connect", "releaseStream", "FCPublish", "createStream", "publish"]))
        try expectMetadataAndMedia(decoded)
    }

    /// Replays the capture through the server's session: the publish request names the captured key.
    @Test(arguments: ["ffmpeg-publish.bin", "gstreamer-rtmp2sink-publish.bin"])
    func sessionReadsThePublishRequest(_ name: String) throws {
        let key = String(decoding: try Fixtures.data("captures/stream-key.txt"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var session = ServerSession()
        var request: PublishRequest?
        for message in try decode(name).messages {
            for action in try session.receive(message) {
                if case .authorize(let r) = action {
                    request = r
                    _ = session.publishAuthorized()
                }
            }
        }
        #expect(request?.app == "live")
        #expect(request?.name == key)
        #expect(request?.publishType == "live")
    }

    func expectMetadataAndMedia(_ decoded: Decoded) throws {
        let data = try decoded.messages.filter { $0.type == .dataAMF0 }.map { try DataMessage($0) }
        let metadata = try #require(data.first { $0.handler == "onMetaData" })
        let parsed = StreamMetadata(metadata.values.first ?? .null)
        #expect(parsed.width == 640)
        #expect(parsed.height == 360)
        let video = try decoded.messages.filter { $0.type == .video }.compactMap { try FLVTag.video($0.payload) }
        let header = try #require(video.first)
        #expect(header.kind == .sequenceHeader)
        let record = try AVCDecoderConfigurationRecord(header.body)
        #expect(record.videoConfig.width == 640)
        #expect(record.videoConfig.height == 360)
        #expect(record.codecString.hasPrefix("avc1.64"))
        let audio = try decoded.messages.filter { $0.type == .audio }.compactMap { try FLVTag.audio($0.payload) }
        let asc = try AudioSpecificConfig(try #require(audio.first { $0.kind == .sequenceHeader }).body)
        #expect(asc.sampleRate == 48000)
        #expect(asc.channelConfiguration == 2)
    }
}

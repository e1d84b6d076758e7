import FFmpeg
import Media
import NIOCore
import Testing
import TestSupport

@testable import Remux

@Suite struct MuxerLayoutTests {
    /// The fixture's sequence headers, parsed once as the ingest does (`TrackFormat`).
    func headers() throws -> (video: MediaPacket, audio: MediaPacket) {
        let streams = try InputFile(url: Fixtures.path(Fixtures.bframes)).streams
        func header(_ track: Track, _ codec: Codec, _ bytes: [UInt8]) throws -> MediaPacket {
            var packet = MediaPacket(track: track, codec: codec, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: bytes))
            packet.format = try TrackFormat(header: packet)
            return packet
        }
        return (try header(.video, .h264, streams[0].extradata), try header(.audio, .aac, streams[1].extradata))
    }

    @Test func videoAudioAndTheCueStream() throws {
        let (video, audio) = try headers()
        let layout = try MuxerLayout(video: video, audio: audio)
        #expect(layout.streams.count == 3)
        guard case .h264(_, let width, let height) = layout.streams[0], case .aac(_, let rate, let channels) = layout.streams[1] else {
            Issue.record("expected H.264 then AAC, got \(layout.streams)")
            return
        }
        #expect(layout.streams[2] == .timedID3)
        #expect(layout.resolution == .init(width: width, height: height))
        #expect(width > 0 && height > 0)
        #expect(layout.codecs == [video.format!.codecString!, "mp4a.40.2"])
        #expect(layout.audioFrameDuration == Int64(1024 * 90000 / rate) && channels > 0)
    }

    @Test func headersTheIngestCouldNotReadOrTSCannotCarryAreRefused() throws {
        let (video, audio) = try headers()
        var unread = video
        unread.format = nil
        #expect(throws: MuxerLayout.Failure.unreadableHeader(.h264)) { try MuxerLayout(video: unread, audio: audio) }
        let opus = MediaPacket(track: .audio, codec: .opus, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer())
        #expect(throws: MuxerLayout.Failure.unsupported(.opus, .audio)) { try MuxerLayout(video: video, audio: opus) }
        #expect(throws: MuxerLayout.Failure.noHeaders) { try MuxerLayout(video: nil, audio: nil) }
        let audioOnly = try MuxerLayout(video: nil, audio: audio)
        #expect(audioOnly.streams.count == 2 && audioOnly.resolution == nil)
    }
}

import NIOCore
import Testing

@testable import Media

/// A packet is copied into every queue, the GOP cache and the interleavers, so its size is memory per frame held.
@Suite struct MediaPacketTests {
    @Test func aPacketStaysSmallWhateverItsFormatSays() {
        // Inline, a `TrackFormat` (two configs, a codec string) made a packet about 250 bytes; the interleaver's two
        // 64-slot queues alone were 32 KB a stream.
        #expect(MemoryLayout<MediaPacket>.stride <= 112, "MediaPacket is \(MemoryLayout<MediaPacket>.stride) bytes")
    }

    @Test func theFormatReadsBackAsSetAndCopiesKeepTheirOwn() {
        var header = MediaPacket(track: .video, codec: .h264, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer())
        #expect(header.format == nil)
        let format = TrackFormat(
            video: VideoConfig(codec: .h264, profile: "High", profileIndication: 100, levelIndication: 31, width: 1280, height: 720),
            codecString: "avc1.64001f", nalLengthSize: 4)
        header.format = format
        let copy = header
        header.format?.codecString = "avc1.640028"
        #expect(copy.format == format)
        #expect(header.format?.codecString == "avc1.640028")
        #expect(header.format?.video?.width == 1280)
        header.format = nil
        #expect(header.format == nil)
        #expect(copy.format?.nalLengthSize == 4)
    }
}

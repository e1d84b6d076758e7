import Foundation
import NIOCore
import Testing

@testable import Media
import TestSupport

/// HEVC's codec string and picture size, which Chromium and Safari need in `CODECS` and `RESOLUTION` (a bare
/// `hvc1` is refused).
@Suite struct HEVCDecoderConfigurationRecordTests {
    /// The `hvcC` box of the fixture, written by ffmpeg/x265 (320x180 coded as 320x184, Main, level 2).
    func fixtureRecord() throws -> ByteBuffer {
        let bytes = [UInt8](try Fixtures.data(Fixtures.hevc))
        let tag = Array("hvcC".utf8)
        let at = try #require((4..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == tag })
        let size = Int(bytes[at - 4]) << 24 | Int(bytes[at - 3]) << 16 | Int(bytes[at - 2]) << 8 | Int(bytes[at - 1])
        return ByteBuffer(bytes: bytes[(at + 4)..<(at - 4 + size)])
    }

    @Test func x265RecordGivesTheFullCodecStringAndTheCroppedSize() throws {
        let record = try HEVCDecoderConfigurationRecord(try fixtureRecord())
        #expect(record.codecString == "hvc1.1.6.L60.90")
        #expect(record.nalLengthSize == 4)
        #expect(record.arrays.map(\.type).starts(with: [32, 33, 34]))
        let config = record.videoConfig
        #expect(config.width == 320, "conformance window applied (coded 184 lines)")
        #expect(config.height == 180)
        #expect(config.profile == "Main")
        #expect(config.level == "2.0")
        let header = MediaPacket(track: .video, codec: .hevc, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: try fixtureRecord())
        #expect(try TrackFormat(header: header).codecString == "hvc1.1.6.L60.90")
    }

    /// ISO/IEC 14496-15 Annex E's own example shape: Main, compatibility flags 1 and 2, level 3.1, progressive,
    /// non-packed, frame-only: `hvc1.1.6.L93.B0`; a profile space, the high tier and zero constraint bytes too.
    @Test(arguments: [
        ([0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93], "hvc1.1.6.L93.B0"),
        ([0xA2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120], "hvc1.B2.4.H120"),
        ([0x01, 0x40, 0, 0, 0, 0x90, 0, 0, 0, 0, 0x01, 150], "hvc1.1.2.L150.90.0.0.0.0.1"),
    ] as [([UInt8], String)])
    func codecStrings(_ fields: [UInt8], _ expected: String) throws {
        // version, then profile byte, 4 compatibility bytes, 6 constraint bytes, level; then 8 bytes of the rest,
        // the length size byte and no arrays.
        let bytes: [UInt8] = [1] + fields + [0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0]
        #expect(try HEVCDecoderConfigurationRecord(ByteBuffer(bytes: bytes)).codecString == expected)
    }

    /// A record that parses but has no parameter sets configures no decoder: the ingest treats it as missing.
    @Test func recordsWithoutParameterSetsAreUnusable() throws {
        let bytes: [UInt8] = [1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93, 0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0]
        let hevc = MediaPacket(track: .video, codec: .hevc, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: bytes))
        #expect(throws: TrackFormat.Unusable.missingParameterSets("a VPS")) { try TrackFormat(header: hevc) }
        // AVC: version 1, High 3.1, 4-byte lengths, one SPS, no PPS.
        let avc = MediaPacket(
            track: .video, codec: .h264, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true,
            payload: ByteBuffer(bytes: [1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0, 0x1F, 0]))
        #expect(throws: TrackFormat.Unusable.missingParameterSets("a PPS")) { try TrackFormat(header: avc) }
        #expect(throws: (any Error).self) { try HEVCDecoderConfigurationRecord(ByteBuffer(bytes: Array(bytes.prefix(20)))) }
    }
}

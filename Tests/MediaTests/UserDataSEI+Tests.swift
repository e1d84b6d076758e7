import NIOCore
import Testing

@testable import Media

@Suite struct UserDataSEITests {
    @Test func h264NALUnitBytes() throws {
        let nal = try #require(UserDataSEI.nalUnit(uuid: Array(repeating: 0x11, count: 16), text: "{}", codec: .h264))
        // NAL header, payload type 5, payload size 18, UUID, text, rbsp trailing bits.
        #expect(nal == [0x06, 0x05, 18] + Array(repeating: 0x11, count: 16) + [0x7B, 0x7D, 0x80])
        let hevc = try #require(UserDataSEI.nalUnit(uuid: Array(repeating: 0x11, count: 16), text: "{}", codec: .hevc))
        #expect(Array(hevc.prefix(2)) == [0x4E, 0x01], "PREFIX_SEI_NUT")
        #expect(UserDataSEI.nalUnit(text: "{}", codec: .av1) == nil)
    }

    /// Sizes of 255 and more take 0xFF bytes; zeros in the payload get emulation prevention bytes.
    @Test func longPayloadsAndEmulationPrevention() throws {
        let nal = try #require(UserDataSEI.nalUnit(uuid: [0, 0, 1] + Array(repeating: 0x22, count: 13), text: String(repeating: "a", count: 300), codec: .h264))
        #expect(Array(nal[0...3]) == [0x06, 0x05, 0xFF, UInt8(316 - 255)])
        #expect(Array(nal[4...7]) == [0x00, 0x00, 0x03, 0x01], "00 00 01 never appears inside a NAL unit")
        #expect(nal.last == 0x80)
    }

    /// The SEI goes after the delimiter, SPS and PPS and before the first slice; every other byte stays.
    @Test func insertedBeforeTheFirstSlice() throws {
        let aud: [UInt8] = [0, 0, 0, 2, 0x09, 0xF0]
        let sps: [UInt8] = [0, 0, 0, 3, 0x67, 0x64, 0x00]
        let idr: [UInt8] = [0, 0, 0, 4, 0x65, 0x88, 0x84, 0x00]
        let sei: [UInt8] = [0x06, 0x05, 0x01, 0x80]
        let out = try #require(UserDataSEI.insert(sei, into: ByteBuffer(bytes: aud + sps + idr), codec: .h264))
        #expect(Array(out.readableBytesView) == aud + sps + [0, 0, 0, 4] + sei + idr)
        let twoByte = try #require(UserDataSEI.insert(sei, into: ByteBuffer(bytes: [0, 4, 0x65, 1, 2, 3]), codec: .h264, lengthSize: 2))
        #expect(Array(twoByte.readableBytesView) == [0, 4] + sei + [0, 4, 0x65, 1, 2, 3])
    }

    @Test func accessUnitsThatDoNotParseAreLeftAlone() {
        #expect(UserDataSEI.insert([0x06], into: ByteBuffer(bytes: [0, 0, 0, 9, 0x65]), codec: .h264) == nil, "length past the end")
        #expect(UserDataSEI.insert([0x06], into: ByteBuffer(bytes: [0, 0]), codec: .h264) == nil, "short prefix")
    }
}

import Foundation
import NIOCore
import Testing

@testable import Media
import TestSupport

@Suite struct H264SequenceParameterSetTests {
    /// The first SPS NAL unit (type 7) of an Annex B stream written by ffmpeg/x264.
    func firstSPS(_ fixture: String) throws -> [UInt8] {
        let bytes = [UInt8](try Fixtures.data(fixture))
        var index = 0
        var starts: [Int] = []
        while index + 3 < bytes.count {
            if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1 {
                starts.append(index + 3)
                index += 3
            } else {
                index += 1
            }
        }
        for (n, start) in starts.enumerated() where bytes[start] & 0x1F == 7 {
            var end = n + 1 < starts.count ? starts[n + 1] - 3 : bytes.count
            while end > start, bytes[end - 1] == 0 { end -= 1 }
            return Array(bytes[start..<end])
        }
        throw CocoaError(.fileReadCorruptFile)
    }

    @Test(arguments: [
        ("sps-1920x1080-high.h264", 100, 1920, 1080),
        ("sps-640x360-baseline.h264", 66, 640, 360),
        ("sps-854x480-high422.h264", 122, 854, 480),
    ])
    func resolutionAndProfile(fixture: String, profile: Int, width: Int, height: Int) throws {
        let sps = try H264SequenceParameterSet(nal: try firstSPS(fixture))
        #expect(sps.profileIDC == profile)
        #expect(sps.width == width)
        #expect(sps.height == height)
    }

    @Test func configurationRecordCodecString() throws {
        let sps = try firstSPS("sps-1920x1080-high.h264")
        var record = ByteBuffer(bytes: [1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        record.writeInteger(UInt16(sps.count))
        record.writeBytes(sps)
        record.writeBytes([1, 0, 2, 0x68, 0xEE])
        let parsed = try AVCDecoderConfigurationRecord(record)
        #expect(parsed.nalLengthSize == 4)
        #expect(parsed.codecString == "avc1.64" + String(format: "%02x", sps[2]) + String(format: "%02x", sps[3]))
        #expect(parsed.videoConfig.width == 1920)
        #expect(parsed.videoConfig.profile == "High")
        #expect(parsed.pictureParameterSets == [[0x68, 0xEE]])
    }

    @Test func truncatedRecordIsAnError() {
        #expect(throws: AVCDecoderConfigurationRecord.ParseError.truncated) {
            try AVCDecoderConfigurationRecord(ByteBuffer(bytes: [1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 30, 0x67]))
        }
    }

    @Test(arguments: [
        ([UInt8(0x11), 0x90], 2, 48000, 2, "mp4a.40.2"),
        ([0x12, 0x10], 2, 44100, 2, "mp4a.40.2"),
        ([0x13, 0x88], 2, 22050, 1, "mp4a.40.2"),
        ([0x2B, 0x92, 0x08, 0x00], 5, 22050, 2, "mp4a.40.5"),
    ])
    func audioSpecificConfig(bytes: [UInt8], objectType: Int, rate: Int, channels: Int, codec: String) throws {
        let asc = try AudioSpecificConfig(ByteBuffer(bytes: bytes))
        #expect(asc.objectType == objectType)
        #expect(asc.sampleRate == rate)
        #expect(asc.channelConfiguration == channels)
        #expect(asc.codecString == codec)
    }

    @Test func streamPathsRefuseTricks() {
        #expect(StreamPath("live/shop1") != nil)
        for bad in ["live", "live/", "/x", "live/../x", "live/.hidden", "a/b/c", "live/sp ace", "live/%2e", String(repeating: "a", count: 65) + "/x"] {
            #expect(StreamPath(bad) == nil, "\(bad)")
        }
    }
}

/// Scaling lists with out-of-range `delta_scale` (fuzzing found one that overflowed and trapped the process).
@Suite struct H264ScalingListTests {
    /// Bits MSB first, with Exp-Golomb codes, for hand-made SPS units.
    struct BitWriter {
        var bits: [Bool] = []
        mutating func put(_ value: UInt64, _ count: Int) { for i in (0..<count).reversed() { bits.append(value >> UInt64(i) & 1 == 1) } }
        mutating func ue(_ value: UInt64) {
            let code = value + 1
            let length = 64 - code.leadingZeroBitCount
            put(0, length - 1)
            put(code, length)
        }
        mutating func se(_ value: Int64) { ue(value > 0 ? UInt64(2 * value - 1) : UInt64(-2 * value)) }
        var bytes: [UInt8] {
            var padded = bits + [true]  // rbsp_stop_one_bit
            while padded.count % 8 != 0 { padded.append(false) }
            return stride(from: 0, to: padded.count, by: 8).map { start in padded[start..<start + 8].reduce(0) { $0 << 1 | ($1 ? 1 : 0) } }
        }
    }

    /// A High-profile 1280×720 SPS whose first 4×4 scaling list starts with `delta`.
    func sps(delta: Int64) -> [UInt8] {
        var w = BitWriter()
        w.put(100, 8); w.put(0, 8); w.put(31, 8)  // profile_idc, constraint flags, level_idc
        w.ue(0); w.ue(1); w.ue(0); w.ue(0); w.put(0, 1)  // sps id, 4:2:0, 8-bit luma/chroma, no bypass
        w.put(1, 1)  // seq_scaling_matrix_present
        w.put(1, 1); w.se(delta)  // list 0 present: the delta, then 15 zero deltas (next never reaches 0)
        for _ in 0..<15 { w.se(0) }
        for _ in 1..<8 { w.put(0, 1) }  // lists 1–7 absent
        w.ue(0); w.ue(0); w.ue(4); w.ue(1); w.put(0, 1)  // frame_num, POC type 0 and its length, 1 ref frame, no gaps
        w.ue(79); w.ue(44); w.put(1, 1); w.put(1, 1); w.put(0, 1)  // 80×45 macroblocks, frames only, 8×8 inference, no crop
        w.put(0, 1)  // no VUI
        return [0x67] + w.bytes
    }

    @Test func deltasInRangeParse() throws {
        for delta: Int64 in [-128, -7, 0, 8, 127] {
            let parsed = try H264SequenceParameterSet(nal: sps(delta: delta))
            #expect(parsed.width == 1280 && parsed.height == 720, "delta \(delta)")
        }
    }

    @Test func deltasOutOfRangeAreRefusedNotTrapped() {
        for delta: Int64 in [128, -129, 1 << 30, -(1 << 30), Int64(Int32.max)] {
            #expect(throws: (any Error).self, "delta \(delta)") { try H264SequenceParameterSet(nal: sps(delta: delta)) }
        }
    }

    /// The input the fuzzer saved (`Fixtures/fuzz/codec-records`), without its selector byte.
    @Test func theFuzzersCrashIsARefusal() throws {
        let directory = Fixtures.directory.appendingPathComponent("fuzz/codec-records")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("crash-") }
        #expect(!files.isEmpty)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
            #expect(bytes.first.map { $0 % 5 } == 4, "the H.264 SPS target")
            #expect(throws: (any Error).self) { try H264SequenceParameterSet(nal: Array(bytes.dropFirst())) }
        }
    }
}

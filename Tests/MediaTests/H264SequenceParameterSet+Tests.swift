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

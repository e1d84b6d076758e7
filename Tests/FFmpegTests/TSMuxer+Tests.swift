import Foundation
import NIOCore
import Testing

@testable import FFmpeg
import TestSupport

@Suite struct TSMuxerTests {
    /// Demuxes the FLV fixture with libavformat and remuxes it with `TSMuxer`, cutting at every keyframe.
    func remux(_ fixture: String) throws -> (segments: [[UInt8]], input: [InputFile.PacketInfo]) {
        let input = try InputFile(url: Fixtures.path(fixture))
        let specs: [TSMuxer.StreamSpec] = input.streams.map { stream in
            stream.codecName == "h264"
                ? .h264(extradata: stream.extradata, width: stream.width, height: stream.height)
                : .aac(extradata: stream.extradata, sampleRate: stream.sampleRate, channels: stream.channels)
        }
        let muxer = try TSMuxer(streams: specs + [.timedID3])
        var segments: [[UInt8]] = []
        var packets: [InputFile.PacketInfo] = []
        while let packet = try input.readPacket() {
            let isVideo = specs[packet.streamIndex] != .timedID3 && input.streams[packet.streamIndex].codecName == "h264"
            if isVideo && packet.isKeyframe && !packets.isEmpty {
                try muxer.flush()
                muxer.drainOutput { segments.append(Array($0)) }
                try muxer.repeatTablesAtNextPacket()
            }
            packets.append(packet)
            let dts = (packet.dts ?? 0) * 90
            let pts = (packet.pts ?? packet.dts ?? 0) * 90
            try packet.data.withUnsafeBytes { bytes in
                try muxer.write(stream: packet.streamIndex, pts: pts, dts: dts, isKeyframe: packet.isKeyframe, data: bytes)
            }
        }
        try muxer.finish()
        muxer.drainOutput { segments.append(Array($0)) }
        return (segments, packets)
    }

    @Test func everySegmentIsPlayableOnItsOwn() async throws {
        let (segments, input) = try remux(Fixtures.bframes)
        #expect(segments.count == 6)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var videoTotal = 0
        var audioTotal = 0
        for (index, segment) in segments.enumerated() {
            #expect(segment.count % 188 == 0)
            #expect(segment.first == 0x47)
            let path = dir.path + "/\(index).ts"
            try Data(segment).write(to: URL(fileURLWithPath: path))
            let packets = try await FFprobe.packets(of: path)
            let video = packets.filter { $0.mediaType == "video" }
            videoTotal += video.count
            audioTotal += packets.filter { $0.mediaType == "audio" }.count
            #expect(video.first?.isKeyframe == true, "segment \(index) starts with a keyframe")
            #expect(try await FFprobe.codecNames(of: path) == ["h264", "aac", "timed_id3"], "segment \(index) has PAT/PMT with all streams")
        }
        #expect(videoTotal == input.filter { $0.streamIndex == 0 }.count)
        #expect(audioTotal == input.filter { $0.streamIndex == 1 }.count)
    }
}

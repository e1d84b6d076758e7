import Cues
import FFmpeg
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import Remux

@Suite struct CMAFSegmentWriterTests {
    /// The fixture's video (by default 640x360 with B-frames, so composition offsets) in 90 kHz, and its layout.
    func video(_ fixture: String = Fixtures.videoOnly, count: Int = 13) throws -> (layout: MuxerLayout, frames: [(pts: Int64, dts: Int64, isKeyframe: Bool, data: [UInt8])]) {
        let input = try InputFile(url: Fixtures.path(fixture))
        let index = try #require(input.streams.firstIndex { $0.codecName == "h264" })
        var header = MediaPacket(
            track: .video, codec: .h264, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true,
            payload: ByteBuffer(bytes: input.streams[index].extradata))
        header.format = try TrackFormat(header: header)
        var frames: [(pts: Int64, dts: Int64, isKeyframe: Bool, data: [UInt8])] = []
        while frames.count < count, let packet = try input.readPacket() {
            guard packet.streamIndex == index else { continue }
            frames.append(((packet.pts ?? 0) * 90, (packet.dts ?? 0) * 90, packet.isKeyframe, packet.data))
        }
        return (try MuxerLayout(video: header, audio: nil), frames)
    }

    /// After a part ended at a forecast (`endIsExpected`), a frame that comes before the forecast (an irregular
    /// rate) is moved the few ticks to it, its composition offset kept and its cue's `emsg` moved with it; the
    /// frames after it keep their own times. Read back with ffprobe and a look at the `emsg` box.
    @Test func aFrameBeforeTheForecastMovesToItWithItsCue() async throws {
        let (layout, frames) = try video()
        try #require(frames.count == 13 && frames[0].isKeyframe)
        try #require(frames.contains { $0.pts != $0.dts }, "the fixture has composition offsets")
        let writer = try CMAFSegmentWriter(layout: layout, mapURI: "t-0.mp4", name: "cuecast-test/t-0.mp4")
        try writer.startSegment(
            name: "cuecast-test/t-1.m4s", sequence: 1, startPTS: frames[0].pts, startDTS: frames[0].dts, programDateTime: Date(),
            discontinuity: false)
        func write(_ range: Range<Int>) throws {
            for frame in frames[range] {
                try writer.write(
                    stream: 0, pts: frame.pts, dts: frame.dts, estimate: 3000, isKeyframe: frame.isKeyframe,
                    payload: ByteBuffer(bytes: frame.data))
            }
        }
        writer.startPart(independent: true)
        try write(0..<6)
        // The cadence forecast the next frame 5 ms (450 ticks) later than it comes.
        let forecast = frames[6].dts + 450
        _ = try #require(try writer.closePart(endDTS: forecast, endIsExpected: true))
        writer.startPart(independent: false)
        writer.addEvent(EventMessage(timescale: 90_000, presentationTime: UInt64(frames[6].pts), id: 7, message: Array("pin".utf8)))
        try write(6..<12)
        let closed = try #require(try writer.closePart(endDTS: frames[12].dts))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = try writer.initSegment.read()
        var segment = try closed.file.read()
        let emsg = try #require(segment.readableBytesView.firstRange(of: Array("emsg".utf8)), "the cue's emsg is in the part")
        // Version 1: version and flags, timescale, then the 64-bit presentation time.
        let presentationTime = segment.getInteger(at: emsg.upperBound + 8, as: UInt64.self)
        #expect(presentationTime == UInt64(frames[6].pts + 450), "the emsg moved with its frame")
        bytes.writeBuffer(&segment)
        let path = directory.path + "/early.mp4"
        try Data(bytes.readableBytesView).write(to: URL(fileURLWithPath: path))
        let read = try await FFprobe.packets(of: path).filter { $0.mediaType == "video" }
        try #require(read.count == 12)
        // ffprobe shifts the times by the stream's start and its edit list (the first frame's composition offset):
        // DTS and PTS each by their own constant.
        let dtsShift = read[0].dtsMilliseconds - frames[0].dts / 90
        let ptsShift = read[0].ptsMilliseconds - frames[0].pts / 90
        #expect(read[6].dtsMilliseconds == forecast / 90 + dtsShift, "moved to the forecast")
        #expect(read[6].ptsMilliseconds == (frames[6].pts + 450) / 90 + ptsShift, "its presentation time moved as much: offset kept")
        #expect(read.map(\.dtsMilliseconds).enumerated().allSatisfy { $0.offset == 6 || $0.element == frames[$0.offset].dts / 90 + dtsShift },
                "every other frame keeps its decode time")
        #expect(read.map(\.ptsMilliseconds).enumerated().allSatisfy { $0.offset == 6 || $0.element == frames[$0.offset].pts / 90 + ptsShift },
                "and its presentation time")
    }

    /// A fresh muxer replaces the old one at a segment boundary only when it keeps the timeline players have: its
    /// initialization segment is the same bytes (one `EXT-X-MAP` per timeline), and the segment's first frame has
    /// the composition offset the timeline's first frame had (libavformat dates a fresh muxer's first sample by
    /// that offset). Three cases on the fixture (B-frames; keyframes every 30 frames, each 67 ms ahead of its DTS):
    /// the second segment at the next keyframe, replaced; the same with a fresh muxer for another picture
    /// (320x180 against 640x360), refused; the second segment at frame 6 (34 ms ahead, as an encoder whose
    /// keyframes vary), put off. In each the init segment with both segments behind it reads back with ffprobe,
    /// every frame once at its own decode time. (Without the offset check, the last case moved frame 6 on by
    /// 33 ms back onto frame 5's time.)
    @Test(arguments: [(30, false), (30, true), (6, false)])
    func aMuxerIsReplacedOnlyWhenTheTimelineStaysWhole(secondSegmentAt start: Int, otherPicture: Bool) async throws {
        let (layout, frames) = try video(count: 61)
        let other = try video(Fixtures.small, count: 1).layout
        try #require(frames.count == 61 && frames[0].isKeyframe && frames[30].isKeyframe)
        try #require(frames[30].pts - frames[30].dts == frames[0].pts - frames[0].dts)
        try #require(frames[6].pts - frames[6].dts != frames[0].pts - frames[0].dts)
        let writer = try CMAFSegmentWriter(layout: layout, mapURI: "r-0.mp4", name: "cuecast-test/r-0.mp4", fragmentsPerMuxer: 1)
        if otherPicture {
            writer.makeMuxer = { _ in try Muxer(container: .fragmentedMP4, streams: other.streams.filter { $0 != .timedID3 }) }
        }
        var bytes = try writer.initSegment.read()
        for (sequence, range) in [(1, 0..<start), (2, start..<(start + 30))] {
            let first = frames[range.lowerBound]
            try writer.startSegment(
                name: "cuecast-test/r-\(sequence).m4s", sequence: sequence, startPTS: first.pts, startDTS: first.dts,
                programDateTime: Date(), discontinuity: false)
            writer.startPart(independent: first.isKeyframe)
            for frame in frames[range] {
                try writer.write(
                    stream: 0, pts: frame.pts, dts: frame.dts, estimate: 3000, isKeyframe: frame.isKeyframe,
                    payload: ByteBuffer(bytes: frame.data))
            }
            _ = try #require(try writer.closePart(endDTS: frames[range.upperBound].dts))
            var segment = try #require(writer.finishSegment()).file.read()
            bytes.writeBuffer(&segment)
        }
        let replaced = start == 30 && !otherPicture
        #expect(writer.muxerRotations == (replaced ? 1 : 0))
        #expect(writer.rotationsRefused == (otherPicture ? 1 : 0), "a fresh init segment that differs is refused")
        #expect(writer.rotationsDeferred == (start == 6 ? 1 : 0), "a segment at another composition offset puts it off")

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/rotation.mp4"
        try Data(bytes.readableBytesView).write(to: URL(fileURLWithPath: path))
        let read = try await FFprobe.packets(of: path).filter { $0.mediaType == "video" }
        let count = start + 30
        try #require(read.count == count, "every frame once: \(read.count)")
        let shift = read[0].dtsMilliseconds - frames[0].dts / 90
        #expect(read.map(\.dtsMilliseconds) == frames[0..<count].map { $0.dts / 90 + shift }, "one unbroken timeline")
    }
}

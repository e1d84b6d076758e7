import Foundation
import NIOCore
import Testing

@testable import FFmpeg
import TestSupport

@Suite struct MuxerTests {
    /// Demuxes the FLV fixture with libavformat and remuxes it with `Muxer`, cutting at every keyframe.
    func remux(_ fixture: String) throws -> (segments: [[UInt8]], input: [InputFile.PacketInfo]) {
        let input = try InputFile(url: Fixtures.path(fixture))
        let specs: [Muxer.StreamSpec] = input.streams.map { stream in
            stream.codecName == "h264"
                ? .h264(extradata: stream.extradata, width: stream.width, height: stream.height)
                : .aac(extradata: stream.extradata, sampleRate: stream.sampleRate, channels: stream.channels)
        }
        let muxer = try Muxer(streams: specs + [.timedID3])
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

    /// Every stream has a muxer or two: the output buffer between drains is small whatever a keyframe needed.
    @Test func theOutputBufferLetsAKeyframesSizeGoAfterTheDrain() throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.bframes))
        let stream = input.streams.first { $0.codecName == "h264" }!
        let muxer = try Muxer(container: .fragmentedMP4, streams: [.h264(extradata: stream.extradata, width: stream.width, height: stream.height)])
        muxer.drainOutput { _ in }
        // One NAL unit, length-prefixed as in FLV: an IDR slice far above what is kept, as a high-bitrate keyframe is.
        func sample(_ type: UInt8, bytes: Int) -> [UInt8] {
            withUnsafeBytes(of: UInt32(bytes).bigEndian, Array.init) + [type] + [UInt8](repeating: 0x41, count: bytes - 1)
        }
        let frame = sample(0x65, bytes: 3 * Muxer.keptOutputCapacity)
        try frame.withUnsafeBytes { try muxer.write(stream: 0, pts: 0, dts: 0, duration: 3000, isKeyframe: true, data: $0) }
        try muxer.flush()
        #expect(muxer.outputByteCount > 2 * Muxer.keptOutputCapacity)
        var drained = 0
        muxer.drainOutput { drained += $0.count }
        #expect(drained > 2 * Muxer.keptOutputCapacity)
        #expect(muxer.outputCapacity <= Muxer.keptOutputCapacity, "kept \(muxer.outputCapacity) bytes")
        // A small fragment's buffer is kept for the next one.
        let small = sample(0x41, bytes: 4096)
        try small.withUnsafeBytes { try muxer.write(stream: 0, pts: 3000, dts: 3000, duration: 3000, isKeyframe: false, data: $0) }
        try muxer.flush()
        muxer.drainOutput { drained += $0.count }
        #expect(muxer.outputCapacity > 0 && muxer.outputCapacity <= Muxer.keptOutputCapacity)
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

    /// The fixture through the fragmented MP4 muxer, flushed at every keyframe and every sixth video frame: the
    /// first output is the init segment (`ftyp`, `moov`), every later one a fragment (`moof`, `mdat`), and the
    /// init segment followed by any one fragment is a file ffprobe reads, with that fragment's frames at the
    /// times they went in.
    @Test func fragmentedMP4InitAndFragmentsStandAlone() async throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.bframes))
        let specs: [Muxer.StreamSpec] = input.streams.map { stream in
            stream.codecName == "h264"
                ? .h264(extradata: stream.extradata, width: stream.width, height: stream.height)
                : .aac(extradata: stream.extradata, sampleRate: stream.sampleRate, channels: stream.channels)
        }
        let muxer = try Muxer(container: .fragmentedMP4, streams: specs)
        var initSegment: [UInt8] = []
        muxer.drainOutput { initSegment = Array($0) }
        #expect(Self.boxTypes(initSegment) == ["ftyp", "moov"])
        var fragments: [[UInt8]] = []
        var expected: [[(video: Bool, pts: Int64)]] = [[]]
        var videoSinceCut = 0
        while let packet = try input.readPacket() {
            let isVideo = input.streams[packet.streamIndex].codecName == "h264"
            if isVideo && (packet.isKeyframe || videoSinceCut == 6) && expected.last?.isEmpty == false {
                try muxer.flush()
                muxer.drainOutput { fragments.append(Array($0)) }
                expected.append([])
                videoSinceCut = 0
            }
            if isVideo { videoSinceCut += 1 }
            let pts = (packet.pts ?? packet.dts ?? 0)
            expected[expected.count - 1].append((isVideo, pts))
            try packet.data.withUnsafeBytes { bytes in
                try muxer.write(stream: packet.streamIndex, pts: pts * 90, dts: (packet.dts ?? 0) * 90, isKeyframe: packet.isKeyframe, data: bytes)
            }
        }
        try muxer.flush()
        muxer.drainOutput { fragments.append(Array($0)) }
        #expect(fragments.count == expected.count && fragments.count > 12)
        let delay = 100 as Int64
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // ffprobe shows presentation times less the stream's first composition offset (the B-frame delay, no edit
        // list in CMAF): one constant for every fragment.
        var shift: Int64?
        for (index, fragment) in fragments.enumerated() {
            #expect(Self.boxTypes(fragment) == ["moof", "mdat"], "fragment \(index)")
            let path = dir.path + "/\(index).mp4"
            try Data(initSegment + fragment).write(to: URL(fileURLWithPath: path))
            let probed = try await FFprobe.packets(of: path)
            let video = probed.filter { $0.mediaType == "video" }.map(\.ptsMilliseconds).sorted()
            let audio = probed.filter { $0.mediaType == "audio" }.map(\.ptsMilliseconds).sorted()
            let wanted = expected[index].filter(\.video).map(\.pts).sorted()
            #expect(video.count == wanted.count, "fragment \(index): video frames")
            if let first = video.first, let firstWanted = wanted.first {
                shift = shift ?? (firstWanted - first)
                #expect(video.map { $0 + shift! } == wanted, "fragment \(index): video times")
            }
            #expect(audio.count == expected[index].filter { !$0.video }.count, "fragment \(index): audio frames")
        }
        #expect(abs(shift ?? 1000) <= delay, "composition delay \(shift ?? 1000) ms")
    }

    /// A fragment whose last frame's duration was a forecast (a low-latency part closed with its last frame):
    /// with `startNextFragmentAtItsDTS` the next fragment starts at its first frame's own time. Without it the muxer
    /// puts that frame where the forecast ended, which the second muxer here shows, so the check can fail.
    @Test func aForecastDurationMovesNoLaterFrame() async throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.small))
        let video = try #require(input.streams.firstIndex { $0.codecName == "h264" })
        let stream = input.streams[video]
        var frames: [(pts: Int64, dts: Int64, isKeyframe: Bool, data: [UInt8])] = []
        while frames.count < 48, let packet = try input.readPacket() {
            guard packet.streamIndex == video else { continue }
            frames.append(((packet.pts ?? packet.dts ?? 0) * 90, (packet.dts ?? 0) * 90, packet.isKeyframe, Array(packet.data)))
        }
        #expect(frames.count == 48)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func mux(startingEachAtItsDTS: Bool) async throws -> [Int64] {
            let muxer = try Muxer(container: .fragmentedMP4, streams: [.h264(extradata: stream.extradata, width: stream.width, height: stream.height)])
            var bytes: [UInt8] = []
            muxer.drainOutput { bytes += $0 }
            for (index, frame) in frames.enumerated() {
                let next = index + 1 < frames.count ? frames[index + 1].dts : frame.dts + 3000
                // Every sixth frame ends a fragment, with a forecast 10 ms (900 ticks) short of the real gap. (A forecast
                // too long is never made: libavformat 5.1 moves a frame that starts before the previous one ended.)
                let endsFragment = index % 6 == 5
                try frame.data.withUnsafeBytes { data in
                    try muxer.write(
                        stream: 0, pts: frame.pts, dts: frame.dts, duration: next - frame.dts - (endsFragment ? 900 : 0), isKeyframe: frame.isKeyframe,
                        data: data)
                }
                if endsFragment {
                    try muxer.flush()
                    if startingEachAtItsDTS { try muxer.startNextFragmentAtItsDTS() }
                }
            }
            try muxer.flush()
            muxer.drainOutput { bytes += $0 }
            let path = dir.path + "/\(startingEachAtItsDTS).mp4"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try await FFprobe.packets(of: path).filter { $0.mediaType == "video" }.map(\.dtsMilliseconds)
        }
        let written = frames.map { $0.dts / 90 }
        let corrected = try await mux(startingEachAtItsDTS: true)
        #expect(corrected.count == written.count)
        let shift = (corrected.first ?? 0) - (written.first ?? 0)
        #expect(corrected.map { $0 - shift } == written, "every frame at its own time")
        let uncorrected = try await mux(startingEachAtItsDTS: false).map { $0 - shift }
        #expect(uncorrected.count == written.count)
        let moved = zip(uncorrected, written).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(moved.map(\.offset) == [6, 12, 18, 24, 30, 36, 42], "without it, each later fragment's first frame moves")
        #expect(moved.allSatisfy { $0.element.0 - $0.element.1 == -10 }, "to where the forecast ended")
    }

    /// The top-level ISO-BMFF box types of `bytes` (ISO/IEC 14496-12 §4.2): a size, a type, and the size's worth.
    static func boxTypes(_ bytes: [UInt8]) -> [String] {
        var types: [String] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            let size = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            types.append(String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self))
            guard size >= 8 else { break }
            offset += size
        }
        return offset == bytes.count ? types : types + ["(truncated)"]
    }

    /// A muxer that refuses its streams throws, and what it had made is released once (a second release would
    /// free the packet twice and crash the server that asked).
    @Test func refusedStreamsThrowAndReleaseOnce() {
        for _ in 0..<3 {
            #expect(throws: FFmpegError.self) { try Muxer(container: .fragmentedMP4, streams: [.timedID3]) }
        }
    }
}

import Media
import NIOCore
import Testing

@testable import HLS
@testable import Remux

@Suite struct SegmentCutterTests {
    @Test func cutsOnlyAtKeyframesPastTheTarget() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: true)
        var decisions: [(Int64, SegmentCutter.Decision)] = []
        // 30 fps video, keyframe every 45 frames (1.5 s): the first cut waits for the keyframe at 3 s.
        for frame in 0..<120 {
            let pts = Int64(frame) * 3000
            decisions.append((pts, cutter.decide(isVideo: true, isKeyframe: frame % 45 == 0, pts: pts)))
        }
        #expect(decisions.filter { $0.1 == .segment }.map(\.0) == [270_000])
        let parts = decisions.filter { $0.1 == .part }.map(\.0)
        #expect(parts.first == 45_000)
        #expect(zip(parts, parts.dropFirst()).allSatisfy { $1 - $0 >= 45_000 })
    }

    @Test func audioNeverCutsAVideoStream() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: true)
        _ = cutter.decide(isVideo: true, isKeyframe: true, pts: 0)
        #expect(cutter.decide(isVideo: false, isKeyframe: true, pts: 400_000) == .none)
        #expect(cutter.decide(isVideo: true, isKeyframe: true, pts: 400_000) == .segment)
    }

    @Test func audioOnlyCutsOnTime() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: false)
        var cuts: [Int64] = []
        for frame in 0..<300 {
            let pts = Int64(frame) * 1920
            if cutter.decide(isVideo: false, isKeyframe: true, pts: pts) == .segment { cuts.append(pts) }
        }
        #expect(cuts == [180_480, 360_960, 541_440])
    }
}

@Suite struct PacketInterleaverTests {
    func packet(_ track: Track, _ dts: Int64) -> MediaPacket {
        MediaPacket(track: track, codec: track == .video ? .h264 : .aac, kind: .frame, dts: dts, pts: dts, isKeyframe: true, payload: ByteBuffer())
    }

    @Test func ordersByDTSAcrossTracks() {
        var interleaver = PacketInterleaver(maxWait: 500)
        interleaver.expect(.video)
        interleaver.expect(.audio)
        var out: [MediaPacket] = []
        for p in [packet(.video, 0), packet(.video, 33), packet(.audio, 10), packet(.audio, 31), packet(.video, 66), packet(.audio, 52)] {
            interleaver.push(p)
            while let ready = interleaver.next() { out.append(ready) }
        }
        while let rest = interleaver.next(flushing: true) { out.append(rest) }
        #expect(out.map(\.dts) == [0, 10, 31, 33, 52, 66])
    }

    @Test func aSilentTrackStallsOthersOnlyForTheBoundedWait() {
        var interleaver = PacketInterleaver(maxWait: 500)
        interleaver.expect(.video)
        interleaver.expect(.audio)
        interleaver.push(packet(.audio, 0))
        #expect(interleaver.next() == nil, "video is expected, so audio waits for it")
        var released: [Int64] = []
        for dts in stride(from: Int64(0), through: 1000, by: 100) {
            interleaver.push(packet(.video, dts))
            while let ready = interleaver.next() { released.append(ready.dts) }
        }
        // Audio stopped at 0: video still flows, at most 500 ms behind the newest packet.
        #expect(released.count >= 5)
        #expect(released.last! >= 1000 - 500 - 100)
    }
}

@Suite struct TimestampRepairTests {
    @Test func repeatedDTSIsMovedForward() {
        var repair = TimestampRepair()
        let frames: [(Int64, Int64)] = [(0, 0), (0, 100), (0, 33), (33, 67)]
        let fixed = frames.map { dts, pts in
            var packet = MediaPacket(track: .video, codec: .h264, kind: .frame, dts: dts, pts: pts, isKeyframe: false, payload: ByteBuffer())
            _ = repair.repair(&packet)
            return packet
        }
        #expect(fixed.map(\.dts) == [0, 1, 2, 33])
        #expect(fixed.map(\.pts) == [0, 100, 33, 67])
        #expect(repair.repairs == 2)
    }
}

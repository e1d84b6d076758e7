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

    /// A 7 s GOP in a stream of 2 s ones, a playlist whose target duration is 2: the long GOP is cut every 2 s at
    /// whatever frame comes, and every segment stays within the target once rounded.
    @Test func aGOPLongerThanTheMaximumIsCutWithoutAKeyframe() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: true, maxDuration: 180_000)
        let keyframes: Set<Int> = [0, 60, 120, 330, 390]  // frames at 30 fps: 0, 2, 4, 11, 13 s
        var cuts: [Int] = []
        for frame in 0..<450 where cutter.decide(isVideo: true, isKeyframe: keyframes.contains(frame), pts: Int64(frame) * 3000) == .segment {
            cuts.append(frame)
        }
        #expect(cuts == [60, 120, 180, 240, 300, 330, 390])
        let lengths = zip([0] + cuts, cuts).map { Double($1 - $0) / 30 }
        #expect(lengths.allSatisfy { $0.rounded() <= 2 }, "\(lengths)")
        #expect(cutter.forcedCuts == 3)
    }

    /// Frames 1.5 s apart and a 2 s limit: waiting for the first frame past 2 s would make a 3 s segment, so the
    /// cut comes a frame early.
    @Test func aForcedCutNeverOvershootsByHalfASecond() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: true, maxDuration: 180_000)
        var cuts: [Int64] = []
        for frame in Int64(0)..<12 where cutter.decide(isVideo: true, isKeyframe: frame == 0, pts: frame * 135_000, frameDuration: 135_000) == .segment {
            cuts.append(frame * 135_000)
        }
        let lengths = zip([0] + cuts, cuts).map { Double($1 - $0) / 90000 }
        #expect(!cuts.isEmpty)
        #expect(lengths.allSatisfy { $0.rounded() <= 2 }, "\(lengths)")
    }

    /// After a timeline break the next keyframe starts a segment, however short the current one is.
    @Test func aTimelineBreakCutsAtTheNextKeyframe() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 45_000, hasVideo: true)
        _ = cutter.decide(isVideo: true, isKeyframe: true, pts: 0)
        cutter.breakTimeline()
        #expect(cutter.decide(isVideo: true, isKeyframe: false, pts: 3000) == .none)
        #expect(cutter.decide(isVideo: false, isKeyframe: true, pts: 4000) == .none)
        #expect(cutter.decide(isVideo: true, isKeyframe: true, pts: 6000) == .segment)
        #expect(cutter.decide(isVideo: true, isKeyframe: true, pts: 9000) == .none, "only once")
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

/// OBS/NVENC and Ecamm send B-frames decoded after they are shown (DTS > PTS). Decode times move earlier by one
/// constant, presentation times stay exactly as sent.
@Suite struct CompositionShiftTests {
    func frame(_ dts: Int64, _ pts: Int64) -> MediaPacket {
        MediaPacket(track: .video, codec: .h264, kind: .frame, dts: dts, pts: pts, isKeyframe: dts == 67, payload: ByteBuffer())
    }

    @Test func negativeOffsetsBecomeAConstantDecodeLead() {
        // Case 07's shape: 2 B-frames (display order I0 P3 B1 B2 P6 B4 B5 …), every DTS 67 ms late.
        var order: [Int64] = [0]
        for g in Int64(0)..<13 { order += [3 * g + 3, 3 * g + 1, 3 * g + 2] }
        var frames: [MediaPacket] = []
        for (k, shown) in order.enumerated() { frames.append(frame(Int64(k) * 33 + 67, shown * 33 + 33)) }
        #expect(frames.map { $0.pts - $0.dts }.min() == -67)
        var shift = CompositionShift(window: 300)
        var out: [MediaPacket] = []
        for f in frames { out += shift.push(f) }
        out += shift.flush()
        #expect(shift.shift == 67)
        #expect(out.count == frames.count, "no frame lost")
        #expect(out.map(\.pts) == frames.map(\.pts), "presentation times untouched")
        #expect(out.allSatisfy { $0.dts <= $0.pts })
        #expect(zip(out, out.dropFirst()).allSatisfy { $0.dts < $1.dts }, "decode order strictly increasing")
    }

    @Test func streamsWithoutNegativeOffsetsAreUntouched() {
        var shift = CompositionShift(window: 300)
        var out: [MediaPacket] = []
        for n in Int64(0)..<20 { out += shift.push(frame(n * 33, n * 33 + 66)) }
        out += shift.flush()
        #expect(shift.shift == 0)
        #expect(out.map(\.dts) == (Int64(0)..<20).map { $0 * 33 })
    }

    @Test func aLargerOffsetLaterGrowsTheShiftWhereThereIsRoom() {
        var shift = CompositionShift(window: 100)
        var out: [MediaPacket] = []
        for n in Int64(0)..<5 { out += shift.push(frame(n * 40, n * 40 - 10)) }  // -10 ms
        #expect(shift.shift == 10)
        out += shift.push(frame(200, 180))  // -20 ms, 40 ms after the last: room to grow
        #expect(shift.shift == 20)
        #expect(out.last?.dts == 180)
        out += shift.push(frame(201, 100))  // -101 ms, 1 ms after the last: no room, dropped
        #expect(shift.dropped == 1)
        #expect(out.allSatisfy { $0.dts <= $0.pts })
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

    /// Packets of 30 fps video (33/34 ms) and audio at `audioSteps` in the order an encoder sends them (by DTS; video
    /// first at a tie), each pushed as it "arrives". For each video frame: whether it came out at its own push, and
    /// whether the audio's cadence says it may (8 audio intervals seen, all within 2 ms of their mean, and the last
    /// audio packet plus the shortest of them past the frame); and the order everything came out in.
    func arrivals(audioSteps: [Int64]) -> (immediate: [Bool], forecastSaysGo: [Bool], order: [Int64]) {
        var interleaver = PacketInterleaver(maxWait: 500)
        interleaver.expect(.video)
        interleaver.expect(.audio)
        let video = (0..<60).map { packet(.video, Int64(($0 * 1000 + 15) / 30)) }
        var audioTimes: [Int64] = [5]
        while audioTimes.count < 100 { audioTimes.append(audioTimes.last! + audioSteps[audioTimes.count % audioSteps.count]) }
        let all = (video + audioTimes.map { packet(.audio, $0) }).sorted { ($0.dts, $0.track == .video ? 0 : 1) < ($1.dts, $1.track == .video ? 0 : 1) }
        var (immediate, forecastSaysGo, order, audioSeen) = ([Bool](), [Bool](), [Int64](), [Int64]())
        for p in all {
            interleaver.push(p)
            var out: [MediaPacket] = []
            while let ready = interleaver.next() { out.append(ready) }
            order += out.map(\.dts)
            if p.track == .audio { audioSeen.append(p.dts) }
            if p.track == .video {
                immediate.append(out.contains { $0.track == .video && $0.dts == p.dts })
                let steps = zip(audioSeen.dropFirst(), audioSeen).map { $0 - $1 }.suffix(8)
                let mean = steps.isEmpty ? 0 : Double(steps.reduce(0, +)) / Double(steps.count)
                let steady = steps.count == 8 && steps.allSatisfy { abs(Double($0) - mean) <= 2.5 }
                forecastSaysGo.append(steady && audioSeen.last! + steps.min()! > p.dts)
            }
        }
        while let rest = interleaver.next(flushing: true) { order.append(rest.dts) }
        return (immediate, forecastSaysGo, order)
    }

    /// Once the audio's cadence is steady, a video frame goes on when it arrives whenever the audio already there
    /// says no earlier audio can follow (all but the frames within a millisecond of the next audio packet, here);
    /// the rest wait for that packet. DTS order is kept.
    @Test func aSteadyTrackIsNotWaitedForPastItsForecast() {
        let (immediate, forecastSaysGo, order) = arrivals(audioSteps: [21, 21, 22])
        #expect(order == order.sorted(), "DTS order")
        #expect(order.count == 160)
        #expect(immediate == forecastSaysGo)
        #expect(immediate.filter { $0 }.count >= 45, "most frames go at once: \(immediate)")
    }

    /// Audio whose intervals vary more than 2 ms is waited for as before: a video frame waits for the audio after it.
    @Test func anUnsteadyTrackIsStillWaitedFor() {
        let (immediate, _, order) = arrivals(audioSteps: [15, 28, 21, 30, 12])
        #expect(order == order.sorted(), "DTS order")
        #expect(immediate.allSatisfy { !$0 }, "\(immediate)")
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

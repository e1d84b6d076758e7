import NIOCore
import Testing

@testable import Media

/// Frames before any usable decoder configuration are dropped, for every kind of missing configuration.
@Suite struct DecoderConfigurationGateTests {
    static let usable = TrackFormat(codecString: "x")

    func packet(_ track: Track, _ kind: MediaPacket.Kind, key: Bool = false, codec: Codec? = nil, usable: Bool = true) -> MediaPacket {
        var p = MediaPacket(
            track: track, codec: codec ?? (track == .video ? .h264 : .aac), kind: kind, dts: 0, pts: 0, isKeyframe: key, payload: ByteBuffer())
        if kind == .sequenceHeader && usable { p.format = Self.usable }
        return p
    }

    func verdicts(_ packets: [MediaPacket]) -> [Bool] {
        var gate = DecoderConfigurationGate()
        return packets.map { gate.admit($0) == .pass }
    }

    /// Case 04's shape: a GOP of frames with no header, then the headers, then the stream from a keyframe.
    @Test func framesBeforeTheHeadersWaitForHeadersAndAKeyframe() {
        let packets = [
            packet(.video, .frame, key: true), packet(.audio, .frame), packet(.video, .frame),
            packet(.video, .sequenceHeader), packet(.audio, .sequenceHeader),
            packet(.audio, .frame), packet(.video, .frame), packet(.video, .frame, key: true), packet(.video, .frame),
        ]
        #expect(verdicts(packets) == [false, false, false, true, true, true, false, true, true])
    }

    /// A header that parses but configures nothing (no SPS/PPS, a record that does not parse) counts as none.
    @Test func unusableHeadersAreDroppedAndTheirFramesToo() {
        let packets = [
            packet(.video, .sequenceHeader, usable: false), packet(.video, .frame, key: true),
            packet(.video, .sequenceHeader), packet(.video, .frame, key: true),
            // A later unusable header stops the track again until a usable one and a keyframe.
            packet(.video, .sequenceHeader, usable: false), packet(.video, .frame, key: true),
            packet(.video, .sequenceHeader), packet(.video, .frame), packet(.video, .frame, key: true),
        ]
        #expect(verdicts(packets) == [false, false, true, true, false, false, true, false, true])
    }

    /// MP3 needs no header; video still starts at a keyframe; data passes.
    @Test func codecsWithoutHeadersPass() {
        let packets = [
            packet(.audio, .frame, codec: .mp3), packet(.video, .frame, codec: .h264),
            MediaPacket(track: .data, codec: .other, kind: .frame, dts: 0, pts: 0, isKeyframe: false, payload: ByteBuffer()),
        ]
        #expect(verdicts(packets) == [true, false, true])
    }
}

/// Encoder clocks that step forward or restart within one connection become one continuous timeline.
@Suite struct TimestampJumpCorrectorTests {
    struct Sent {
        var track: Track
        var dts: Int64
        var arrival: Int64
    }

    /// Video every 33 ms and audio every 23 ms in real time for `seconds`, raw timestamps from `raw(wall)`.
    func stream(seconds: Int64, raw: (Int64) -> Int64) -> [Sent] {
        var sent: [Sent] = []
        for t in stride(from: Int64(0), to: seconds * 1000, by: 33) { sent.append(Sent(track: .video, dts: raw(t), arrival: t)) }
        for t in stride(from: Int64(0), to: seconds * 1000, by: 23) { sent.append(Sent(track: .audio, dts: raw(t), arrival: t)) }
        return sent.sorted { $0.arrival < $1.arrival }
    }

    func run(_ sent: [Sent]) -> (out: [(Track, Int64)], jumps: [TimestampJumpCorrector.Jump]) {
        var corrector = TimestampJumpCorrector()
        var out: [(Track, Int64)] = []
        var jumps: [TimestampJumpCorrector.Jump] = []
        for s in sent {
            var p = MediaPacket(track: s.track, codec: s.track == .video ? .h264 : .aac, kind: .frame, dts: s.dts, pts: s.dts + 10, isKeyframe: false, payload: ByteBuffer())
            if let jump = corrector.correct(&p, arrival: s.arrival) { jumps.append(jump) }
            #expect(p.pts == p.dts + 10, "composition offset kept")
            out.append((s.track, p.dts))
        }
        return (out, jumps)
    }

    /// Every step keeps the real spacing, and the corrected time follows the wall clock.
    func expectContinuous(_ out: [(Track, Int64)], _ sent: [Sent]) {
        for track in [Track.video, .audio] {
            let times = out.filter { $0.0 == track }.map(\.1)
            let steps = zip(times, times.dropFirst()).map { $1 - $0 }
            let spacing: Int64 = track == .video ? 33 : 23
            #expect(steps.allSatisfy { $0 == spacing }, "\(track) steps \(Set(steps))")
        }
        for (o, s) in zip(out, sent) { #expect(abs(o.1 - s.arrival) <= 40, "on the wall clock") }
    }

    @Test func aForwardStepIsAbsorbed() {
        let sent = stream(seconds: 12) { $0 < 6000 ? $0 : $0 + 60_000 }
        let (out, jumps) = run(sent)
        #expect(jumps.count == 1, "one jump, both tracks moved together")
        expectContinuous(out, sent)
    }

    /// The same step twice: each is a jump of its own, never a 60 s hole.
    @Test func aSecondStepOfTheSameSizeIsAbsorbedToo() {
        let sent = stream(seconds: 12) { $0 < 4000 ? $0 : $0 < 8000 ? $0 + 60_000 : $0 + 120_000 }
        let (out, jumps) = run(sent)
        #expect(jumps.count == 2)
        expectContinuous(out, sent)
    }

    @Test func aRestartFromZeroIsAbsorbed() {
        let sent = stream(seconds: 16) { $0 < 8000 ? $0 : $0 - 8000 }
        let (out, jumps) = run(sent)
        #expect(jumps.count == 1)
        #expect(jumps.first.map { $0.to > $0.from } == true)
        expectContinuous(out, sent)
    }

    /// Gaps the wall clock explains are media: a variable-frame-rate source that sent nothing for 3 s, a stall
    /// after which frames arrive in a burst, small DTS jitter.
    @Test func gapsTheWallClockExplainsAreNotJumps() {
        var sent: [Sent] = []
        for t in stride(from: Int64(0), to: 3000, by: 33) { sent.append(Sent(track: .video, dts: t, arrival: t)) }
        for t in stride(from: Int64(6000), to: 8000, by: 33) { sent.append(Sent(track: .video, dts: t, arrival: t)) }
        // 2 s of frames held by the network arrive together.
        for t in stride(from: Int64(8000), to: 10000, by: 33) { sent.append(Sent(track: .video, dts: t, arrival: 12000)) }
        sent.append(Sent(track: .video, dts: 9990, arrival: 12001))  // 10 ms back: left to the remuxer's repair
        let (out, jumps) = run(sent)
        #expect(jumps.isEmpty)
        #expect(out.map(\.1) == sent.map(\.dts))
    }
}

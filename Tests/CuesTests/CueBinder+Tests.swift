import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import Cues

/// Frames in decode order as (pts, dts, keyframe), 40 ms apart, with B-frames: I0 P120 B40 B80 P240 B160 B200 …
func bframeGOP(start: Int64 = 0, count: Int = 3) -> [(pts: Int64, dts: Int64, key: Bool)] {
    var frames: [(Int64, Int64, Bool)] = []
    var dts = start - 40
    for group in 0..<count {
        let base = start + Int64(group) * 120
        if group == 0 {
            frames.append((base, dts, true))
        }
        dts += 40
        frames.append((base + 120, dts, false))
        dts += 40
        frames.append((base + 40, dts, false))
        dts += 40
        frames.append((base + 80, dts, false))
    }
    return frames
}

final class Answers: Sendable {
    let bound = NIOLockedValueBox<[String: BoundCue?]>([:])
    func cue(_ id: String, _ target: PendingCue.Target) -> PendingCue {
        PendingCue(id: id, kind: .announcement, payload: #"{"text":"x"}"#, duration: nil, target: target) { [self] answer in
            bound.withLockedValue { $0[id] = .some(answer) }
        }
    }
}

@Suite struct CueBinderTests {
    let anchor = Date(timeIntervalSince1970: 1_800_000_000)

    func placed(_ outcomes: [CueBinder.Outcome]) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for case .bound(let binding) in outcomes { result[binding.cue.id] = binding.pts }
        return result
    }

    @Test func nextFrameTakesTheNextFrameShownNoEarlierThanTheLastCue() {
        let answers = Answers()
        var binder = CueBinder()
        _ = binder.frame(pts: 0, dts: -40, isKeyframe: true, arrival: anchor)
        #expect({ if case .waiting = binder.add(answers.cue("a", .nextFrame)) { true } else { false } }())
        #expect(placed(binder.frame(pts: 120, dts: 0, isKeyframe: false)) == ["a": 120])
        // The next frame is a B-frame shown before "a": "b" waits for the first frame shown at or after 120.
        _ = binder.add(answers.cue("b", .nextFrame))
        #expect(placed(binder.frame(pts: 40, dts: 40, isKeyframe: false)).isEmpty)
        #expect(placed(binder.frame(pts: 80, dts: 80, isKeyframe: false)).isEmpty)
        #expect(placed(binder.frame(pts: 240, dts: 120, isKeyframe: false)) == ["b": 240])
    }

    @Test func mediaTimeTakesTheFirstFrameAtOrAfterIt() {
        let answers = Answers()
        var binder = CueBinder()
        _ = binder.add(answers.cue("in-band", .mediaTime(100)))
        var bound: [String: Int64] = [:]
        for f in bframeGOP() { bound.merge(placed(binder.frame(pts: f.pts, dts: f.dts, isKeyframe: f.key, arrival: anchor))) { $1 } }
        #expect(bound == ["in-band": 120])
    }

    /// An instant ahead binds once decode time reaches it, to the frame shown first at or after it, which may
    /// have been decoded before the deciding frame (a B-frame's reference).
    @Test func anInstantAheadTakesTheFirstFrameShownAtOrAfterIt() {
        let answers = Answers()
        var binder = CueBinder()
        let frames = bframeGOP(count: 4)
        _ = binder.frame(pts: frames[0].pts, dts: frames[0].dts, isKeyframe: true, arrival: anchor)
        _ = binder.add(answers.cue("at", .notBefore(anchor.addingTimeInterval(0.150))))
        var bound: [String: Int64] = [:]
        for f in frames.dropFirst() { bound.merge(placed(binder.frame(pts: f.pts, dts: f.dts, isKeyframe: f.key))) { $1 } }
        #expect(bound == ["at": 160], "the first frame shown at or after 150 ms")
    }

    /// An instant just passed binds at once to a frame of the current GOP; one before it is refused, and so is
    /// a frame shown before the last cue placed.
    @Test func passedInstantsBindInTheCurrentGOPOrAreRefused() {
        let answers = Answers()
        var binder = CueBinder()
        for f in bframeGOP(count: 2) { _ = binder.frame(pts: f.pts, dts: f.dts, isKeyframe: f.key, arrival: anchor) }
        _ = binder.frame(pts: 360, dts: 200, isKeyframe: true)  // a new GOP starts at 360
        _ = binder.frame(pts: 480, dts: 240, isKeyframe: false)
        _ = binder.frame(pts: 400, dts: 280, isKeyframe: false)
        _ = binder.frame(pts: 440, dts: 320, isKeyframe: false)
        guard case .refused(_, let reason) = binder.add(answers.cue("old", .notBefore(anchor.addingTimeInterval(0.1)))) else {
            Issue.record("an instant before the current GOP must be refused")
            return
        }
        #expect(reason.contains("already published"))
        guard case .bound(let binding) = binder.add(answers.cue("recent", .notBefore(anchor.addingTimeInterval(0.43)))) else {
            Issue.record("an instant in the current GOP binds at once")
            return
        }
        #expect(binding.pts == 440, "shown first at or after 430 ms among the GOP's frames")
        guard case .refused = binder.add(answers.cue("earlier", .notBefore(anchor.addingTimeInterval(0.39)))) else {
            Issue.record("a frame shown before the last cue placed is refused")
            return
        }
        #expect(binder.end().isEmpty)
    }

    @Test func theClockStartsAtTheFirstFrame() {
        var binder = CueBinder()
        #expect(binder.clock == nil)
        _ = binder.frame(pts: 1000, dts: 960, isKeyframe: true, arrival: anchor)
        #expect(binder.clock == MediaClock(anchorDate: anchor, anchorPTS: 1000))
        #expect(binder.clock?.date(ofPTS: 3500) == anchor.addingTimeInterval(2.5))
    }
}

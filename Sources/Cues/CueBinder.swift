import Foundation

/// Decides which frame each cue lands on, for every output of a stream at once: the one binder of a publish,
/// run on its publisher's event loop, fed frames in arrival (decode) order. Pure: values in, bindings out.
///
/// Binding frames are video frames, or audio frames when the stream has no video. Times are ms (the publisher's
/// clock); dates come from the publish's `MediaClock`.
/// - `.nextFrame`: the next binding frame to arrive, or the first after it shown no earlier than the last cue
///   placed (a B-frame decoded after that cue's frame is shown before it).
/// - `.mediaTime(t)`: the first binding frame with PTS ≥ t (in-band cues).
/// - `.notBefore(instant)`: the binding frame shown first at or after the instant. It is decided once decode
///   time reaches the instant (every frame shown at or after the instant but before the deciding frame has been
///   decoded by then). An instant already passed binds at once to a frame of the current GOP; one before the
///   current GOP is refused: those frames are delivered and, for HLS, may be in published segments.
/// Cues land in time order: one whose frame would be shown before the last cue's is refused, because the
/// outputs' metadata tracks (timed ID3, script data) only go forward.
public struct CueBinder: Sendable {
    public struct Binding: Sendable {
        public var cue: PendingCue
        /// Presentation time of the frame, ms.
        public var pts: Int64
    }

    public enum Outcome: Sendable {
        case bound(Binding)
        case refused(PendingCue, reason: String)
        case waiting
    }

    public private(set) var clock: MediaClock?
    private var pending: [PendingCue] = []
    /// Presentation times of the current GOP's binding frames, in decode order.
    private var gop: [Int64] = []
    private var lastPlaced: Int64?

    public init() {}

    /// A new cue. It binds at once only to a frame already delivered (an instant in the past).
    public mutating func add(_ cue: PendingCue) -> Outcome {
        if case .notBefore(let instant) = cue.target, let clock, let last = gop.last.map(clock.date(ofPTS:)), instant <= last {
            let start = gop.first.map(clock.date(ofPTS:)) ?? last
            guard instant >= start else {
                return .refused(cue, reason: "the instant is in media already published (before the current GOP)")
            }
            let pts = gop.filter { clock.date(ofPTS: $0) >= instant }.min() ?? gop.last!
            return place(cue, at: pts)
        }
        pending.append(cue)
        return .waiting
    }

    /// A binding frame arrives (decode order). Returns what it decides, in the cues' order; bindings go out
    /// before the frame. `arrival` (now when nil: read only for the first frame, not on every one) anchors the
    /// clock at the publish's first frame.
    public mutating func frame(pts: Int64, dts: Int64, isKeyframe: Bool, arrival: Date? = nil) -> [Outcome] {
        if clock == nil { clock = MediaClock(anchorDate: arrival ?? Date(), anchorPTS: pts) }
        let clock = clock!
        var outcomes: [Outcome] = []
        if !pending.isEmpty {
            let decodeDate = clock.date(ofPTS: dts)
            var still: [PendingCue] = []
            for cue in pending {
                switch cue.target {
                case .nextFrame where lastPlaced.map({ pts >= $0 }) ?? true:
                    outcomes.append(place(cue, at: pts))
                case .mediaTime(let time) where pts >= time:
                    outcomes.append(place(cue, at: pts))
                case .notBefore(let instant) where decodeDate >= instant:
                    let shown = gop.filter { clock.date(ofPTS: $0) >= instant } + (clock.date(ofPTS: pts) >= instant ? [pts] : [])
                    outcomes.append(place(cue, at: shown.min() ?? pts))
                default:
                    still.append(cue)
                }
            }
            pending = still
        }
        if isKeyframe { gop = [] }
        gop.append(pts)
        return outcomes
    }

    /// The publish is over: the cues still waiting.
    public mutating func end() -> [PendingCue] {
        defer { pending = [] }
        return pending
    }

    private mutating func place(_ cue: PendingCue, at pts: Int64) -> Outcome {
        if let lastPlaced, pts < lastPlaced {
            return .refused(cue, reason: "the frame is shown before a cue already placed")
        }
        lastPlaced = pts
        return .bound(Binding(cue: cue, pts: pts))
    }
}

/// Decides where segments and parts end: segments at video keyframes once the target duration is reached (on
/// time for audio-only streams); parts at frame boundaries of the pace-setting track once the part target is
/// reached in decode time, and before a frame that would take a part past `partLimit` (the playlist's
/// `PART-TARGET`, which no part may exceed: draft-pantos-hls-rfc8216bis §4.4.4.9).
///
/// Two cuts do not wait for the target: a GOP that runs to `maxDuration` is cut there, at whatever frame comes
/// (the playlist's target duration must never change, RFC 8216 §6.2.1), and the next keyframe then starts a
/// segment at once; a timeline break asked for with `breakTimeline()` ends the segment at the next keyframe.
public struct SegmentCutter: Sendable {
    public let targetDuration: Int64
    public let partTarget: Int64
    public let hasVideo: Bool
    /// The longest a segment may run before it is cut without a keyframe.
    public var maxDuration: Int64
    /// The longest a part may run, once the playlist's part target is fixed.
    public var partLimit: Int64 = .max
    private var segmentStart: Int64?
    /// Decode time of the open part's first frame.
    private var partStart: Int64?
    private var breakPending = false
    /// The open segment began with a forced cut: the next keyframe starts a segment at once, so segments line
    /// up with GOPs again.
    private var startedMidGOP = false
    /// Segments cut without a keyframe so far.
    public private(set) var forcedCuts = 0

    /// Durations in the same unit as the timestamps given later (90 kHz in the remuxer).
    public init(targetDuration: Int64, partTarget: Int64, hasVideo: Bool, maxDuration: Int64 = .max) {
        self.targetDuration = targetDuration
        self.partTarget = partTarget
        self.hasVideo = hasVideo
        self.maxDuration = maxDuration
    }

    /// The next segment starts at the next frame a segment can start on, whatever the current one's length.
    public mutating func breakTimeline() { breakPending = true }

    public enum Decision: Equatable, Sendable {
        case none
        /// End the current part before this frame.
        case part
        /// End the current segment (and part) before this frame.
        case segment
    }

    /// Call for every frame in output order, with its PTS and DTS (the PTS when nil); returns where to cut
    /// before it. `frameDuration` (of the pace-setting track, when known) lets a forced cut come one frame early
    /// when the next frame would take the segment half a second past `maxDuration` (a slide show at one frame a
    /// second and a half, say), and a part end before a frame that would take it past `partLimit`.
    public mutating func decide(isVideo: Bool, isKeyframe: Bool, pts: Int64, dts: Int64? = nil, frameDuration: Int64 = 0) -> Decision {
        let dts = dts ?? pts
        guard let start = segmentStart else {
            segmentStart = pts
            partStart = dts
            return .none
        }
        let canStartSegment = hasVideo ? (isVideo && isKeyframe) : true
        let setsPace = isVideo || !hasVideo
        let halfSecond: Int64 = 45000
        let forced = setsPace && pts > start
            && (pts - start >= maxDuration || (maxDuration < .max - halfSecond && pts - start + frameDuration >= maxDuration + halfSecond))
        let realign = (breakPending || startedMidGOP) && pts > start
        if (canStartSegment && (pts - start >= targetDuration || realign)) || forced {
            startedMidGOP = !canStartSegment
            if startedMidGOP { forcedCuts += 1 }
            segmentStart = pts
            partStart = dts
            breakPending = false
            return .segment
        }
        // Parts end on any frame of the track that sets the pace (video if there is one); in decode order, which
        // B-frames do not reorder.
        if let partStart, setsPace, dts > partStart, dts - partStart >= partTarget || dts - partStart + frameDuration > partLimit {
            self.partStart = dts
            return .part
        }
        return .none
    }

    /// Call after a frame of the pace-setting track (decode time `dts`) when the next one is expected
    /// `expectedDuration` later (a steady frame rate): true when the open part reaches its target with this frame,
    /// so it can end now instead of when the next frame arrives a frame interval later. The part then ends at
    /// `dts + expectedDuration`, and the next frame does not end it again.
    public mutating func endsPartAfter(dts: Int64, expectedDuration: Int64) -> Bool {
        guard let partStart, expectedDuration > 0, dts >= partStart else { return false }
        let length = dts + expectedDuration - partStart
        guard length >= partTarget, length <= partLimit else { return false }
        self.partStart = dts + expectedDuration
        return true
    }
}

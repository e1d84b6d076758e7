/// Decides where segments and parts end: segments only at video keyframes once the target duration is reached
/// (on time for audio-only streams); parts at frame boundaries once the part target is reached.
public struct SegmentCutter: Sendable {
    public let targetDuration: Int64
    public let partTarget: Int64
    public let hasVideo: Bool
    private var segmentStart: Int64?
    private var partStart: Int64?

    /// Durations in the same unit as the timestamps given later (90 kHz in the remuxer).
    public init(targetDuration: Int64, partTarget: Int64, hasVideo: Bool) {
        self.targetDuration = targetDuration
        self.partTarget = partTarget
        self.hasVideo = hasVideo
    }

    public enum Decision: Equatable, Sendable {
        case none
        /// End the current part before this frame.
        case part
        /// End the current segment (and part) before this frame.
        case segment
    }

    /// Call for every frame in output order, with its PTS; returns where to cut before it.
    public mutating func decide(isVideo: Bool, isKeyframe: Bool, pts: Int64) -> Decision {
        guard let start = segmentStart else {
            segmentStart = pts
            partStart = pts
            return .none
        }
        let canStartSegment = hasVideo ? (isVideo && isKeyframe) : true
        if canStartSegment && pts - start >= targetDuration {
            segmentStart = pts
            partStart = pts
            return .segment
        }
        // Parts end on any frame of the track that sets the pace (video if there is one).
        if let partStart, (isVideo || !hasVideo), pts - partStart >= partTarget {
            self.partStart = pts
            return .part
        }
        return .none
    }
}

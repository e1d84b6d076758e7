/// Absorbs jumps in an encoder's timestamps (a clock step forward, a restart back to 0 within one connection)
/// so every reader sees one continuous timeline with the media's real spacing.
///
/// Per track, a frame is a jump when its DTS runs ahead of the last one by more than the wall clock moved
/// between their arrivals plus `forwardTolerance`, or falls behind it by more than `backwardTolerance`. Gaps the
/// wall clock explains (a variable-frame-rate source that sent nothing, a network stall) are media, not jumps.
/// A jump re-anchors the track: its frame follows the last one after the wall-clock gap (at least one frame
/// duration), and the offset stays for the frames after it, so nothing is lost or squeezed. When the other
/// track jumps by about the same amount, it takes the same offset and the tracks stay in sync.
/// Times in ms.
public struct TimestampJumpCorrector: Sendable {
    public struct Jump: Equatable, Sendable {
        public var track: Track
        /// Where the frame's DTS was, and where it was expected (ms).
        public var from: Int64
        public var to: Int64
    }

    struct TrackState: Sendable {
        var lastRaw: Int64
        var lastOut: Int64
        var lastArrival: Int64?
        var frameDuration: Int64
    }

    public let forwardTolerance: Int64
    public let backwardTolerance: Int64
    /// Added to each track's timestamps, indexed like `Track.allCases`.
    private var offsets: [Int64] = Array(repeating: 0, count: Track.allCases.count)
    private var tracks: [TrackState?] = Array(repeating: nil, count: Track.allCases.count)
    /// The last jump, until the other track follows it: which track, how far the raw timeline moved, and the
    /// offset chosen for it.
    private var lastJump: (track: Track, shift: Int64, offset: Int64)?
    public private(set) var jumps = 0

    /// Defaults: a second ahead of the wall clock, a few frames back (B-frame reordering never moves DTS back).
    public init(forwardTolerance: Int64 = 1000, backwardTolerance: Int64 = 200) {
        self.forwardTolerance = forwardTolerance
        self.backwardTolerance = backwardTolerance
    }

    /// Moves the packet onto the continuous timeline; returns the jump when this packet is the first past one
    /// (not when it only follows the other track's jump). `arrival` is the packet's wall-clock arrival in ms.
    /// Sequence headers take the track's offset without being measured (encoders send them at odd times).
    public mutating func correct(_ packet: inout MediaPacket, arrival: Int64?) -> Jump? {
        let slot = packet.track.index
        guard packet.kind == .frame else {
            packet.dts += offsets[slot]
            packet.pts += offsets[slot]
            return nil
        }
        let raw = packet.dts
        var reported: Jump?
        if var state = tracks[slot] {
            let delta = raw - state.lastRaw
            let wall = arrival.flatMap { now in state.lastArrival.map { max(0, now - $0) } } ?? state.frameDuration
            if delta > wall + forwardTolerance || delta < -backwardTolerance {
                let shift = raw - state.lastRaw
                let expected = state.lastOut + max(wall, state.frameDuration)
                let own = expected - raw
                // The other track's jump of about the same size, whose offset lands this frame where it belongs:
                // both tracks take one offset and stay in sync. Anything else is a jump of its own.
                if let lastJump, lastJump.track != packet.track, abs(lastJump.shift - shift) < forwardTolerance,
                    raw + lastJump.offset > state.lastOut, abs(raw + lastJump.offset - expected) < forwardTolerance
                {
                    offsets[slot] = lastJump.offset
                    self.lastJump = nil
                } else {
                    offsets[slot] = own
                    lastJump = (packet.track, shift, own)
                    jumps += 1
                    reported = Jump(track: packet.track, from: raw, to: raw + own)
                }
            } else if delta > 0 && delta < 1000 {
                state.frameDuration = delta
            }
            state.lastRaw = raw
            state.lastArrival = arrival ?? state.lastArrival
            state.lastOut = raw + offsets[slot]
            tracks[slot] = state
        } else {
            tracks[slot] = TrackState(lastRaw: raw, lastOut: raw + offsets[slot], lastArrival: arrival, frameDuration: packet.track == .audio ? 23 : 33)
        }
        packet.dts = raw + offsets[slot]
        packet.pts += offsets[slot]
        return reported
    }
}

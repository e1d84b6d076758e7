import Media

/// Keeps DTS strictly increasing per track. A packet whose DTS does not move forward (GStreamer's flvmux sends
/// several frames at DTS 0, some encoders jitter) is moved 1 ms after the previous one, and its PTS kept at or
/// after the new DTS.
public struct TimestampRepair {
    /// The last DTS per track, indexed like `Track.allCases` (this runs for every packet).
    private var lastDTS: [Int64?] = Array(repeating: nil, count: Track.allCases.count)
    public private(set) var repairs = 0

    public init() {}

    /// Repairs the packet's timestamps in place; true if it had to change them.
    public mutating func repair(_ packet: inout MediaPacket) -> Bool {
        let slot = packet.track.index
        var repaired = false
        if let last = lastDTS[slot], packet.dts <= last {
            let shift = last + 1 - packet.dts
            packet.dts += shift
            packet.pts = max(packet.pts, packet.dts)
            repaired = true
            repairs += 1
        }
        lastDTS[slot] = packet.dts
        return repaired
    }

    /// Forgets the timeline (a new publish starts its own).
    public mutating func reset() { lastDTS = Array(repeating: nil, count: Track.allCases.count) }
}

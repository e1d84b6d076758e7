import Media

/// Keeps DTS strictly increasing per track. A packet whose DTS does not move forward (GStreamer's flvmux sends
/// several frames at DTS 0, some encoders jitter) is moved 1 ms after the previous one, and its PTS kept at or
/// after the new DTS.
public struct TimestampRepair {
    private var lastDTS: [Track: Int64] = [:]
    public private(set) var repairs = 0

    public init() {}

    /// Returns the packet with repaired timestamps and whether it had to be changed.
    public mutating func repair(_ packet: MediaPacket) -> (MediaPacket, repaired: Bool) {
        var packet = packet
        var repaired = false
        if let last = lastDTS[packet.track], packet.dts <= last {
            let shift = last + 1 - packet.dts
            packet.dts += shift
            packet.pts = max(packet.pts, packet.dts)
            repaired = true
            repairs += 1
        }
        lastDTS[packet.track] = packet.dts
        return (packet, repaired)
    }

    /// Forgets the timeline (a new publish starts its own).
    public mutating func reset() { lastDTS = [:] }
}

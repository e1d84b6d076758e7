import Media

/// Orders packets of several tracks by DTS before they reach the muxer, waiting a bounded time for a track
/// that has fallen silent so a gap in audio never stalls video.
public struct PacketInterleaver {
    public let maxWait: Int64
    private var queues: [Track: [MediaPacket]] = [:]

    /// `maxWait` is in the packets' time unit (ms for RTMP).
    public init(maxWait: Int64) {
        self.maxWait = maxWait
    }

    /// Announces a track (from its sequence header) so its packets are waited for before they first arrive.
    public mutating func expect(_ track: Track) {
        if queues[track] == nil { queues[track] = [] }
    }

    public mutating func push(_ packet: MediaPacket) -> [MediaPacket] {
        queues[packet.track, default: []].append(packet)
        return release(all: false)
    }

    /// Everything still queued, in DTS order (end of stream).
    public mutating func drain() -> [MediaPacket] {
        release(all: true)
    }

    private mutating func release(all: Bool) -> [MediaPacket] {
        var out: [MediaPacket] = []
        while true {
            let heads = queues.compactMap { track, queue in queue.first.map { (track, $0.dts) } }
            guard let (track, dts) = heads.min(by: { $0.1 < $1.1 }) else { break }
            let everyTrackWaiting = heads.count == queues.count
            let newest = queues.values.compactMap { $0.last?.dts }.max() ?? dts
            guard all || everyTrackWaiting || newest - dts > maxWait else { break }
            out.append(queues[track]!.removeFirst())
        }
        return out
    }
}

import Media
import NIOCore

/// Orders packets of several tracks by DTS before they reach the muxer, waiting a bounded time for a track
/// that has fallen silent so a gap in audio never stalls video.
///
/// A packet waits for another track only while that track could still send something earlier. A track with a
/// steady cadence (`FrameCadence`, in the packets' unit: 2 ms tolerance) cannot: its next packet comes at least its
/// shortest recent interval after its last. So a video frame goes on as soon as the audio already received reaches
/// past it by that forecast, instead of waiting up to an audio frame (21 ms at 48 kHz) for the next audio packet;
/// that wait was most of a low-latency part's delay once the part itself ended on its last frame.
///
/// Runs for every packet, so it keeps one ring buffer per track and hands packets out one at a time: no
/// allocation per packet.
public struct PacketInterleaver {
    public let maxWait: Int64
    /// One queue per track, indexed like `Track.allCases`; nil until the track is expected or seen.
    private var queues: [Queue?] = Array(repeating: nil, count: Track.allCases.count)

    /// A track's packets and, beside them, their DTS: deciding which packet goes next reads only the DTS
    /// ring, without copying (and retaining) a packet.
    private struct Queue {
        var packets = CircularBuffer<MediaPacket>(initialCapacity: 64)
        var dts = CircularBuffer<Int64>(initialCapacity: 64)
        var cadence = FrameCadence(window: 8, tolerance: 2)
    }

    /// `maxWait` is in the packets' time unit (ms for RTMP).
    public init(maxWait: Int64) {
        self.maxWait = maxWait
    }

    /// Announces a track (from its sequence header) so its packets are waited for before they first arrive.
    public mutating func expect(_ track: Track) {
        let index = track.index
        if queues[index] == nil { queues[index] = Queue() }
    }

    public mutating func push(_ packet: consuming MediaPacket) {
        let index = packet.track.index
        if queues[index] == nil { queues[index] = Queue() }
        queues[index]!.dts.append(packet.dts)
        queues[index]!.cadence.note(dts: packet.dts)
        queues[index]!.packets.append(packet)
    }

    /// The next packet that may go to the muxer, nil when the rest must wait for another track. With
    /// `flushing` (end of stream) everything queued comes out, in DTS order.
    public mutating func next(flushing: Bool = false) -> MediaPacket? {
        var head: (index: Int, dts: Int64)?
        var known = 0
        var waiting = 0
        var newest = Int64.min
        for index in queues.indices {
            guard queues[index] != nil else { continue }
            known += 1
            guard let first = queues[index]!.dts.first, let last = queues[index]!.dts.last else { continue }
            waiting += 1
            newest = max(newest, last)
            if head == nil || first < head!.dts { head = (index, first) }
        }
        guard let head else { return nil }
        if !flushing && waiting < known && newest - head.dts <= maxWait {
            // An empty track holds the head back unless its cadence puts its next packet after the head.
            for index in queues.indices where queues[index] != nil && queues[index]!.dts.isEmpty {
                guard let earliest = queues[index]!.cadence.nextEarliest, earliest > head.dts else { return nil }
            }
        }
        queues[head.index]!.dts.removeFirst()
        return queues[head.index]!.packets.removeFirst()
    }
}

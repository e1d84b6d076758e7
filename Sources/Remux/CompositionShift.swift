import Media

/// Keeps every video frame's DTS at or below its PTS, which MPEG-TS muxers require, for encoders that send
/// negative composition offsets (OBS/NVENC and Ecamm with B-frames: a frame decoded after it is shown).
///
/// Decode times move earlier by one constant per timeline; presentation times are never touched (clamping PTS
/// up to DTS would reorder B-frames). The constant is measured on the first `window` ms of video, held back
/// that long (less than the interleaver waits for a silent track): the largest negative offset there. A larger one later grows the shift as far as the gap before
/// the previous frame's DTS allows; a frame that still cannot be written (no encoder seen does this) is
/// dropped and counted. Times in ms.
struct CompositionShift {
    let window: Int64
    private var held: [MediaPacket] = []
    /// How far decode times move earlier; nil while the first frames are measured.
    private(set) var shift: Int64?
    private var lastDTS: Int64?
    private(set) var dropped = 0

    init(window: Int64 = 300) {
        self.window = window
    }

    /// Takes a video frame; returns the frames ready to go on, in order, with their DTS moved.
    mutating func push(_ packet: MediaPacket) -> [MediaPacket] {
        guard shift == nil else { return shifted(packet).map { [$0] } ?? [] }
        held.append(packet)
        guard let first = held.first, packet.dts - first.dts >= window else { return [] }
        return flush()
    }

    /// Decides with what is held (a timeline ends, a header changes) and returns it.
    mutating func flush() -> [MediaPacket] {
        if shift == nil {
            guard !held.isEmpty else { return [] }
            shift = max(0, held.map { $0.dts - $0.pts }.max() ?? 0)
        }
        let ready = held.compactMap { shifted($0) }
        held = []
        return ready
    }

    private mutating func shifted(_ packet: MediaPacket) -> MediaPacket? {
        var packet = packet
        var dts = packet.dts - shift!
        if dts > packet.pts {
            let room = lastDTS.map { dts - $0 - 1 } ?? .max
            let needed = dts - packet.pts
            guard needed <= room else {
                dropped += 1
                return nil
            }
            shift! += needed
            dts = packet.pts
        }
        lastDTS = dts
        packet.dts = dts
        return packet
    }
}

import FFmpeg
import Foundation
import HLS
import NIOCore

/// The MPEG-TS side of an HLS output: one `Muxer` per timeline, and each segment's bytes in a memory file of
/// its own (`SegmentFile.Writer`). It knows nothing of playlists, clocks or cues: the pipeline says when a
/// segment starts and ends, and hands it frames and ID3 tags with their 90 kHz times.
final class TSSegmentWriter {
    enum Failure: Error, CustomStringConvertible {
        case muxer(String)
        case file(SegmentFileError)

        var description: String {
            switch self {
            case .muxer(let reason): reason
            case .file(let error): "writing segment file: \(error)"
            }
        }
    }

    let layout: MuxerLayout
    private let muxer: Muxer
    /// The segment being written, if one is open.
    private(set) var current: SegmentBuilder?

    /// The muxer's output moves to the segment's file in runs of this size: a few writes a second per stream,
    /// and the output buffer stays small and warm.
    static let spillSize = 32 * 1024

    init(layout: MuxerLayout) throws(Failure) {
        self.layout = layout
        do {
            muxer = try Muxer(streams: layout.streams)
        } catch {
            throw .muxer("muxer: \(error)")
        }
    }

    /// Index of the timed ID3 stream cues ride in.
    var id3Stream: Int? { muxer.streams.firstIndex(of: .timedID3) }

    /// Bytes of the open segment so far: in its file, and still in the muxer's output.
    var byteCount: Int { (current?.file.size ?? 0) + muxer.outputByteCount }

    /// Opens the next segment's memory file, named `name` (seen in `/proc/<pid>/fd`).
    func startSegment(
        name: String, sequence: Int, startPTS: Int64, programDateTime: Date, discontinuity: Bool
    ) throws(SegmentFileError) {
        let file = try SegmentFile.Writer(name: name)
        current = SegmentBuilder(
            sequence: sequence, startPTS: startPTS, programDateTime: programDateTime, discontinuity: discontinuity, file: file)
    }

    /// Writes one frame (or tag) of `stream` into the open segment, times in 90 kHz.
    func write(stream: Int, pts: Int64, dts: Int64, isKeyframe: Bool, bytes: UnsafeRawBufferPointer) throws(Failure) {
        do {
            try muxer.write(stream: stream, pts: pts, dts: dts, isKeyframe: isKeyframe, data: bytes)
        } catch {
            throw .muxer("writing stream \(stream): \(error)")
        }
        if muxer.outputByteCount >= Self.spillSize { try drain() }
    }

    /// Records a written frame in the open segment: its kind, whether it sets the pace, where it ends.
    func noteFrame(isVideo: Bool, setsPace: Bool, pts: Int64, end: Int64) {
        if isVideo { current?.videoFrames += 1 } else { current?.audioFrames += 1 }
        if setsPace { current?.pacePTS.append(pts) }
        if let endPTS = current?.endPTS, end > endPTS { current?.endPTS = end }
    }

    /// Ends a part of the open segment at `endPTS` (the muxer is flushed so the part's bytes are whole).
    func closePart(endPTS: Int64) throws(Failure) {
        guard current != nil else { return }
        try flush()
        let written = byteCount
        current?.closePart(at: written, endPTS: endPTS)
    }

    /// Ends the open segment: at `endPTS` when the next one starts there, else after its last frame. Returns it,
    /// with its end, unless it held no frame; the next segment starts with PAT/PMT again.
    func finishSegment(endPTS: Int64?) throws(Failure) -> (builder: SegmentBuilder, end: Int64)? {
        guard let open = current else { return nil }
        let end = endPTS ?? open.endPTS
        try flush()
        let written = byteCount
        current?.closePart(at: written, endPTS: end)
        try drain()
        guard let builder = current else { return nil }
        current = nil
        try? muxer.repeatTablesAtNextPacket()
        return builder.isEmpty ? nil : (builder, end)
    }

    private func flush() throws(Failure) {
        do { try muxer.flush() } catch { throw .muxer("flush: \(error)") }
    }

    /// Moves the muxer's output into the open segment's file.
    private func drain() throws(Failure) {
        guard let file = current?.file else { return }
        do {
            try muxer.drainOutput { bytes throws(SegmentFileError) in try file.append(bytes) }
        } catch {
            throw .file(error)
        }
    }
}

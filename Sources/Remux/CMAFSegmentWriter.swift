import FFmpeg
import Foundation
import HLS
import NIOCore

/// The CMAF side of an HLS output, for Low-Latency HLS: one fragmented-MP4 `Muxer` per timeline, its
/// initialization segment, and each segment's fragments, one per part, in a memory file of its own. Like
/// `TSSegmentWriter`, it knows nothing of playlists: the pipeline says where segments and parts end.
final class CMAFSegmentWriter {
    /// The initialization segment (`ftyp`, `moov`) every segment of this timeline needs, and its URI.
    let initSegment: SegmentFile
    let mapURI: String
    private let muxer: Muxer
    /// Stream indices as the pipeline numbers them (video, then audio), mapped to the muxer's.
    let streamCount: Int
    private(set) var current: Open?

    struct Open {
        let sequence: Int
        let startPTS: Int64
        let programDateTime: Date
        let discontinuity: Bool
        let file: SegmentFile.Writer
        var parts: [Segment.Part] = []
        var partStartDTS: Int64
        var partStartByte = 0
        var partIndependent = true
        var partHasFrames = false
        /// The parts' durations so far, 90 kHz.
        var partTicks: Int64 = 0
    }

    /// - Throws: `TSSegmentWriter.Failure` when the muxer refuses the layout or no memory file can be had.
    init(layout: MuxerLayout, mapURI: String, name: String) throws(TSSegmentWriter.Failure) {
        self.mapURI = mapURI
        let streams = layout.streams.filter { $0 != .timedID3 }
        streamCount = streams.count
        do {
            muxer = try Muxer(container: .fragmentedMP4, streams: streams)
        } catch {
            throw .muxer("fMP4 muxer: \(error)")
        }
        do {
            let writer = try SegmentFile.Writer(name: name)
            try muxer.drainOutput { bytes throws(SegmentFileError) in try writer.append(bytes) }
            initSegment = SegmentFile(writer)
        } catch {
            throw .file(error)
        }
    }

    func startSegment(name: String, sequence: Int, startPTS: Int64, startDTS: Int64, programDateTime: Date, discontinuity: Bool) throws(SegmentFileError) {
        current = Open(
            sequence: sequence, startPTS: startPTS, programDateTime: programDateTime, discontinuity: discontinuity,
            file: try SegmentFile.Writer(name: name), partStartDTS: startDTS)
    }

    /// Writes one frame into the open segment, times and `duration` (its expected length, for a fragment's last
    /// sample) in 90 kHz; streams past the muxer's (timed ID3) are not carried here.
    func write(stream: Int, pts: Int64, dts: Int64, duration: Int64, isKeyframe: Bool, bytes: UnsafeRawBufferPointer) throws(TSSegmentWriter.Failure) {
        guard stream < streamCount, current != nil else { return }
        do {
            try muxer.write(stream: stream, pts: pts, dts: dts, duration: duration, isKeyframe: isKeyframe, data: bytes)
        } catch {
            throw .muxer("fMP4 stream \(stream): \(error)")
        }
    }

    /// Ends the open part (one fragment) before the frame at `endDTS`; returns it with a view of the segment's
    /// file that holds it, or nil if it held no frame. `duration` overrides the decode-time span (the last part
    /// of a segment ends where the segment does). The duration listed is at most `limit`, the playlist's part
    /// target: a gap in the encoder's timestamps falls inside a part, and no part may be listed longer
    /// (draft-pantos-hls-rfc8216bis §4.4.4.9); the segment's duration is then its parts' sum.
    func closePart(endDTS: Int64, duration: Int64? = nil, limit: Int64 = .max) throws(TSSegmentWriter.Failure) -> (part: Segment.Part, file: SegmentFile)? {
        guard let open = current else { return nil }
        do {
            try muxer.flush()
        } catch {
            throw .muxer("fMP4 flush: \(error)")
        }
        do {
            try muxer.drainOutput { bytes throws(SegmentFileError) in try open.file.append(bytes) }
        } catch {
            throw .file(error)
        }
        let size = open.file.size
        guard size > open.partStartByte else { return nil }
        let ticks = min(max(duration ?? (endDTS - open.partStartDTS), 0), limit)
        let part = Segment.Part(duration: Double(ticks) / 90000, independent: open.partIndependent, byteRange: open.partStartByte..<size)
        current?.parts.append(part)
        current?.partStartByte = size
        current?.partStartDTS = endDTS
        current?.partHasFrames = false
        current?.partTicks += ticks
        do {
            return (part, try open.file.view())
        } catch {
            throw .file(error)
        }
    }

    /// The open part's first frame is coming: `independent` when a player can start decoding there
    /// (`INDEPENDENT=YES`: a video keyframe, or any frame of an audio-only stream).
    func startPart(independent: Bool) {
        current?.partIndependent = independent
        current?.partHasFrames = true
    }

    /// Ends the open segment: its parts and its file. The caller closed its last part.
    func finishSegment() -> (open: Open, file: SegmentFile)? {
        guard let open = current else { return nil }
        current = nil
        guard !open.parts.isEmpty else { return nil }
        return (open, SegmentFile(open.file))
    }
}

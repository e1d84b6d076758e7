import Cues
import FFmpeg
import Foundation
import HLS
import NIOCore

/// The CMAF side of an HLS output, for Low-Latency HLS: one fragmented-MP4 `Muxer` per timeline, its
/// initialization segment, and each segment's fragments, one per part, in a memory file of its own. Like
/// `TSSegmentWriter`, it knows nothing of playlists: the pipeline says where segments and parts end.
///
/// Each frame goes to the muxer when the next frame of its track arrives, with its exact duration. The
/// pace-setting track's held frame ends the part it belongs to: at the frame that cuts the part, or, when the
/// cadence is steady, at once with the duration the cadence forecasts (the next fragment then starts at its own
/// DTS, so a forecast's error never moves a frame). Other tracks' last frame goes into the next part.
///
/// libavformat's MP4 muxer keeps a record of every fragment it has written (for an `mfra` box at the end, which a
/// live output never writes): about 80 bytes per part, without bound, 1.5 MB an hour per stream at 200 ms parts.
/// So the muxer is replaced by a fresh one at a segment boundary after `fragmentsPerMuxer` fragments, when two
/// things hold (if not, the old muxer stays): the new one's initialization segment is the same bytes, and the
/// segment's first frame has the composition offset (PTS − DTS) the timeline's first frame had. With
/// `frag_discont` and edit lists, libavformat dates a fresh muxer's first sample by its PTS less the offset of the
/// first frame it sees, so only then is its first `tfdt` the caller's DTS and the timeline one unbroken line for
/// players (an encoder's keyframes usually share their offset). Only `mfhd` sequence numbers start again.
final class CMAFSegmentWriter {
    /// The initialization segment (`ftyp`, `moov`) every segment of this timeline needs, and its URI.
    let initSegment: SegmentFile
    let mapURI: String
    private var muxer: Muxer
    private let muxerStreams: [Muxer.StreamSpec]
    /// Fragments written by the current muxer, and how many it may write before it is replaced.
    private(set) var fragmentsInMuxer = 0
    let fragmentsPerMuxer: Int
    /// Muxers replaced so far (for tests and logs).
    private(set) var muxerRotations = 0
    /// Replacements given up, the old muxer kept until `fragmentsPerMuxer` more fragments: the fresh muxer could
    /// not be made, or its initialization segment was not the bytes players already have (for tests and logs).
    private(set) var rotationsRefused = 0
    /// Replacements put off to the next segment, whose first frame may have the timeline's composition offset
    /// when this one's did not (for tests and logs).
    private(set) var rotationsDeferred = 0
    /// PTS − DTS of the timeline's first frame of the pace-setting track (90 kHz): a fresh muxer keeps the timeline
    /// only from a frame with the same offset.
    private var timelineOffset: Int64?
    /// Makes the fresh muxer of a replacement; a test gives one whose initialization segment differs.
    var makeMuxer: ([Muxer.StreamSpec]) throws -> Muxer = { streams in try Muxer(container: .fragmentedMP4, streams: streams) }
    /// Stream indices as the pipeline numbers them (video, then audio), mapped to the muxer's.
    let streamCount: Int
    private(set) var current: Open?
    /// The newest frame of each stream, written when the next one (or a part's end) says how long it lasts.
    private var held: [Held?]
    /// Event messages for the open part, written ahead of its `moof` (CMAF puts event messages first in a chunk).
    private var events: [EventMessage] = []
    /// Frames given to the muxer since its last fragment: a muxer holding some is not replaced.
    private var framesInMuxer = 0
    /// The earliest DTS the pace-setting track's next frame may have: where a part that ended on a forecast
    /// ended (then one tick past each frame moved to it). libavformat moves a frame that starts before the
    /// previous fragment's end, and drops its composition offset; this writer moves it itself, offset kept.
    private var paceFloor: Int64?
    /// Other tracks' frames (with their durations) that came after a part ended on a forecast and before the
    /// pace-setting track's next frame: they go to the muxer just before it, so that frame may still start a
    /// segment (and a fresh muxer) with nothing of the old segment left in the muxer.
    private var deferred: [(stream: Int, frame: Held, duration: Int64)] = []
    private var awaitingPace = false

    private struct Held {
        var pts: Int64
        var dts: Int64
        /// Its expected length, for a frame that has no successor (the publish ended).
        var estimate: Int64
        var isKeyframe: Bool
        var payload: ByteBuffer
    }

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

    /// `fragmentsPerMuxer`: fragments (parts) one muxer writes before a segment boundary replaces it (the pipeline
    /// passes `HLSConfiguration.fragmentsPerMuxer`).
    /// - Throws: `TSSegmentWriter.Failure` when the muxer refuses the layout or no memory file can be had.
    init(layout: MuxerLayout, mapURI: String, name: String, fragmentsPerMuxer: Int = 300) throws(TSSegmentWriter.Failure) {
        self.mapURI = mapURI
        self.fragmentsPerMuxer = fragmentsPerMuxer
        let streams = layout.streams.filter { $0 != .timedID3 }
        muxerStreams = streams
        streamCount = streams.count
        held = Array(repeating: nil, count: streams.count)
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
        let offset = startPTS - startDTS
        if timelineOffset == nil { timelineOffset = offset }
        if fragmentsInMuxer >= fragmentsPerMuxer && framesInMuxer == 0 { rotateMuxer(firstOffset: offset) }
        current = Open(
            sequence: sequence, startPTS: startPTS, programDateTime: programDateTime, discontinuity: discontinuity,
            file: try SegmentFile.Writer(name: name), partStartDTS: startDTS)
    }

    /// Replaces the muxer with a fresh one (every fragment of the old one is out: parts end before segments start)
    /// when the fresh one's initialization segment is the same bytes and the segment's first frame has the
    /// timeline's composition offset (`firstOffset`, 90 kHz); otherwise keeps the old one and counts again.
    private func rotateMuxer(firstOffset: Int64) {
        guard firstOffset == timelineOffset else {
            // The next segment may start at the timeline's offset: tried again there.
            rotationsDeferred += 1
            return
        }
        fragmentsInMuxer = 0
        var header: [UInt8] = []
        guard let fresh = try? makeMuxer(muxerStreams),
            (try? fresh.drainOutput { bytes throws(SegmentFileError) in header.append(contentsOf: bytes) }) != nil,
            let original = try? initSegment.read(), header.elementsEqual(original.readableBytesView)
        else {
            // Players hold the first init segment (one `EXT-X-MAP` per timeline) and its timeline: the old muxer
            // goes on, and its fragment record grows until the next try.
            rotationsRefused += 1
            return
        }
        muxer = fresh
        muxerRotations += 1
    }

    /// Takes one frame for the open segment, times and `estimate` (its expected length, used only when no frame
    /// follows) in 90 kHz; streams past the muxer's (timed ID3) are not carried here. The frame before it in the
    /// same stream goes to the muxer now.
    func write(stream: Int, pts: Int64, dts: Int64, estimate: Int64, isKeyframe: Bool, payload: ByteBuffer) throws(TSSegmentWriter.Failure) {
        guard stream < streamCount, current != nil else { return }
        var (pts, dts) = (pts, dts)
        if stream == 0, let floor = paceFloor {
            if dts < floor {
                // Came before the forecast: a few ticks later, composition offset kept, and its cue with it.
                let shift = floor - dts
                moveEvents(from: pts, to: pts + shift)
                (pts, dts) = (pts + shift, floor)
                paceFloor = dts + 1
            } else {
                paceFloor = nil
            }
        }
        if stream == 0 && awaitingPace {
            awaitingPace = false
            try emitDeferred()
        }
        if let previous = held[stream] {
            if awaitingPace {
                deferred.append((stream, previous, dts - previous.dts))
            } else {
                try emit(previous, stream: stream, duration: dts - previous.dts)
            }
        }
        held[stream] = Held(pts: pts, dts: dts, estimate: estimate, isKeyframe: isKeyframe, payload: payload)
    }

    private func emit(_ frame: Held, stream: Int, duration: Int64) throws(TSSegmentWriter.Failure) {
        do {
            try frame.payload.withUnsafeReadableBytes { bytes throws(FFmpegError) in
                try muxer.write(
                    stream: stream, pts: frame.pts, dts: frame.dts, duration: duration > 0 ? duration : frame.estimate, isKeyframe: frame.isKeyframe,
                    data: bytes)
            }
        } catch {
            throw .muxer("fMP4 stream \(stream): \(error)")
        }
        framesInMuxer += 1
    }

    /// Adds an event message to the open part.
    func addEvent(_ box: EventMessage) {
        guard current != nil else { return }
        events.append(box)
    }

    private func emitDeferred() throws(TSSegmentWriter.Failure) {
        for (stream, frame, duration) in deferred { try emit(frame, stream: stream, duration: duration) }
        deferred.removeAll(keepingCapacity: true)
    }

    /// The events of a frame that was moved follow it.
    private func moveEvents(from old: Int64, to new: Int64) {
        for index in events.indices where events[index].presentationTime == UInt64(max(old, 0)) {
            events[index].presentationTime = UInt64(max(new, 0))
        }
    }

    /// Writes every held frame with its estimated length: the timeline ends here.
    func drainHeld() throws(TSSegmentWriter.Failure) {
        awaitingPace = false
        try emitDeferred()
        for stream in held.indices {
            if let frame = held[stream] { try emit(frame, stream: stream, duration: 0) }
            held[stream] = nil
        }
    }

    /// Ends the open part (one fragment) before the frame at `endDTS`; returns it with a view of the segment's
    /// file that holds it, or nil if it held no frame. `duration` overrides the decode-time span (the last part
    /// of a segment ends where the segment does). The duration listed is at most `limit`, the playlist's part
    /// target: a gap in the encoder's timestamps falls inside a part, and no part may be listed longer
    /// (draft-pantos-hls-rfc8216bis §4.4.4.9); the segment's duration is then its parts' sum.
    /// `endIsExpected`: `endDTS` is when the next frame should come, not when it came, so the last frame's
    /// duration is a forecast (never longer than the frame interval); the next fragment then starts at its first
    /// frame's own DTS (`tfdt`), so a forecast short by a millisecond leaves a millisecond's gap and moves no frame.
    func closePart(
        endDTS: Int64, duration: Int64? = nil, limit: Int64 = .max, endIsExpected: Bool = false
    ) throws(TSSegmentWriter.Failure) -> (part: Segment.Part, file: SegmentFile)? {
        guard let open = current else { return nil }
        // The pace-setting track's last frame ends where the part does.
        if let last = held[0], endDTS > last.dts {
            try emit(last, stream: 0, duration: endDTS - last.dts)
            held[0] = nil
        }
        do {
            try muxer.flush()
            if endIsExpected {
                try muxer.startNextFragmentAtItsDTS()
                paceFloor = endDTS
                awaitingPace = streamCount > 1
            }
        } catch {
            throw .muxer("fMP4 flush: \(error)")
        }
        framesInMuxer = 0
        if muxer.outputByteCount > 0 { fragmentsInMuxer += 1 }
        do {
            if muxer.outputByteCount > 0 {
                for box in events.map({ $0.encoded() }) {
                    try box.withUnsafeBytes { bytes in Result { () throws(SegmentFileError) in try open.file.append(bytes) } }.get()
                }
                events = []
            }
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

    /// The open part's first frame of the pace-setting track is coming: `independent` when a player can start
    /// decoding there (`INDEPENDENT=YES`: a video keyframe, or any frame of an audio-only stream).
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

import Cues
import Foundation
import HLS
import Media

/// Cues the stream placed on frames (see `CueBinder`): each becomes an ID3 tag with its frame's PTS in the
/// segment that holds the frame (in TS a timed ID3 packet, in CMAF an `emsg` box in the part), and a DATERANGE
/// listed with that segment.
extension HLSPipeline {
    /// A placement arrives before its frame is written (frames wait in the interleaver), or after, when the cue
    /// went to a frame already delivered: then the tag goes into the open segment at once.
    func placementArrived(_ cue: PlacedCue) {
        guard output != nil, !failed else { return }
        let pts = Self.tsTime(cue.timestamp)
        if pendingPlacements.isEmpty, let builder = writer?.current, builder.pacePTS.contains(where: { $0 >= pts }) {
            write(cue, pts: pts)
        } else {
            pendingPlacements.append(cue)
        }
    }

    /// Writes the placements whose frame is shown no later than the binding frame about to be written (`pts`,
    /// 90 kHz): a B-frame's cue goes in just before the frame decoded ahead of it, in the same segment.
    func writePlacements(upTo pts: Int64) {
        while let first = pendingPlacements.first, Self.tsTime(first.timestamp) <= pts {
            pendingPlacements.removeFirst()
            write(first, pts: Self.tsTime(first.timestamp))
        }
    }

    private func write(_ cue: PlacedCue, pts: Int64) {
        guard let writer, let builder = writer.current, let output, let id3Index = writer.id3Stream else {
            logger.notice("cue not carried in HLS: no open segment", metadata: ["cue": "\(cue.id)"])
            return
        }
        let tag = ID3Tag.userText(description: "cuecast", text: cue.json)
        do {
            try tag.withUnsafeBytes { bytes in
                try writer.write(stream: id3Index, pts: pts, dts: pts, isKeyframe: true, bytes: bytes)
            }
        } catch {
            logger.error("could not write cue \(cue.id): \(error)")
            return
        }
        // The same tag in the low-latency rendition: an `emsg` box in the part that holds the frame, at its
        // presentation time (the MP4 muxer keeps the 90 kHz composition times it is given).
        nextEventID &+= 1
        cmaf?.addEvent(
            EventMessage(
                timescale: 90000, presentationTime: UInt64(max(pts, 0)),
                duration: cue.duration.map { UInt32(min(max($0, 0) * 90000, Double(UInt32.max - 1))) } ?? EventMessage.unknownDuration,
                id: nextEventID, message: tag
            ))
        output.addDateRange(
            DateRange(id: cue.id, kind: cue.kind, startDate: cue.programDateTime, duration: cue.duration, playerJSON: cue.json),
            segmentSequence: builder.sequence)
    }
}

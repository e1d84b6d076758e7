import Foundation
import HLS
import NIOCore

/// The low-latency rendition: the same frames, cut at the same segment boundaries as the MPEG-TS one, muxed
/// again as CMAF (`CMAFSegmentWriter`), with each part listed as soon as it closes. A failure here ends only this
/// rendition's timeline (logged); the TS output goes on.
extension HLSPipeline {
    /// Makes the CMAF writer for a new timeline and lists its initialization segment.
    func makeLowLatencyWriter(layout: MuxerLayout) {
        cmaf = nil
        guard configuration.lowLatency, let output else { return }
        let uri = "\(output.epoch)-\(nextSequence).mp4"
        do {
            let writer = try CMAFSegmentWriter(
                layout: layout, mapURI: uri, name: "cuecast-\(path)/\(uri)", fragmentsPerMuxer: configuration.fragmentsPerMuxer)
            output.addMap(uri: uri, file: writer.initSegment)
            cmaf = writer
        } catch {
            logger.warning("no low-latency rendition for this timeline", metadata: ["reason": "\(error)"])
        }
    }

    /// `setsPace`: a frame of the track parts are cut on; the first in a part says whether the part is independent.
    func writeLowLatency(
        stream: Int, pts: Int64, dts: Int64, estimate: Int64, isKeyframe: Bool, setsPace: Bool, independent: Bool, payload: ByteBuffer
    ) {
        guard let cmaf else { return }
        if setsPace, cmaf.current?.partHasFrames == false { cmaf.startPart(independent: independent) }
        do {
            try cmaf.write(stream: stream, pts: pts, dts: dts, estimate: estimate, isKeyframe: isKeyframe, payload: payload)
        } catch {
            lowLatencyFailed("\(error)")
        }
    }

    /// Ends the open part before the frame at `endDTS` and lists it; `duration` (90 kHz) overrides its span.
    /// `endIsExpected`: `endDTS` is when the next frame should come (a steady cadence), not when it came.
    func closeLowLatencyPart(endDTS: Int64, duration: Int64? = nil, endIsExpected: Bool = false) {
        guard let cmaf, let output, let open = cmaf.current else { return }
        do {
            guard
                let (part, file) = try cmaf.closePart(
                    endDTS: endDTS, duration: duration, limit: fixedPartLimit ?? .max, endIsExpected: endIsExpected)
            else { return }
            let index = open.parts.count
            output.append(
                part: PartialSegment(
                    sequence: open.sequence, index: index, uri: PartialSegment.uri(epoch: output.epoch, sequence: open.sequence, index: index),
                    duration: part.duration, independent: part.independent, file: file, byteRange: part.byteRange),
                programDateTime: open.programDateTime, discontinuity: open.discontinuity)
        } catch {
            lowLatencyFailed("\(error)")
        }
    }

    /// Ends the open segment where the TS one ended (`end`, 90 kHz PTS); its duration is its parts' sum. The
    /// first segment fixes `PART-TARGET` (the longest part so far, at least the configured target, rounded up to
    /// a millisecond); no later part is listed longer.
    /// `endDTS` is the decode time of the frame that starts the next segment; nil when the timeline ends here.
    func finishLowLatencySegment(end: Int64, endDTS: Int64?, now: Date) {
        guard let cmaf, let output, let open = cmaf.current else { return }
        let rest = max(end - open.startPTS - open.partTicks, 0)
        // Any failure below stops the rendition (`cmaf` is then nil) and nothing more is listed.
        if endDTS == nil {
            do {
                try cmaf.drainHeld()
            } catch {
                return lowLatencyFailed("\(error)")
            }
        }
        // A part that ended with its last frame (a steady cadence) leaves nothing of the pace-setting track here;
        // any other track's frames since then open the next segment's first part instead of a part of their own.
        if endDTS == nil || open.partHasFrames {
            closeLowLatencyPart(endDTS: endDTS ?? (open.partStartDTS + rest), duration: rest)
        }
        guard self.cmaf === cmaf, let (finished, file) = cmaf.finishSegment() else { return }
        let segment = Segment(
            sequence: finished.sequence, uri: "\(output.epoch)-\(finished.sequence).m4s", duration: Double(finished.partTicks) / 90000,
            programDateTime: finished.programDateTime, discontinuity: finished.discontinuity, startPTS: finished.startPTS,
            parts: finished.parts, file: file, mapURI: cmaf.mapURI)
        if fixedPartLimit == nil {
            // The usual part, not a stalled one (a frame gap in the first segment must not set a target the other
            // parts stay far below: all but a segment's last must be 85 % of it), a millisecond over: FLV frame
            // times are whole milliseconds and jitter by one.
            let durations = finished.parts.map(\.duration).sorted()
            let usual = durations.isEmpty ? 0 : durations[min(durations.count - 1, durations.count * 8 / 10)]
            let limit = (Int64((max(usual, configuration.partDuration) * 1000).rounded(.up)) + 1) * 90
            fixedPartLimit = limit
            cutter?.partLimit = limit
            output.fixPartTarget(Double(limit) / 90000)
            logger.info("part target fixed", metadata: ["seconds": "\(Double(limit) / 90000)"])
        }
        output.append(lowLatencySegment: segment, now: now)
    }

    func lowLatencyFailed(_ reason: String) {
        cmaf = nil
        output?.abandonLowLatencySegment()
        logger.error("low-latency rendition stopped until the next timeline", metadata: ["reason": "\(reason)"])
    }
}

import Foundation
import HLS

/// Segment lifecycle: where a segment's file opens and where it is listed, for both renditions; and how the output
/// ends when the system refuses a file.
extension HLSPipeline {
    /// How long the first segment of a playlist may run before it is cut without a keyframe: its length fixes
    /// the playlist's target duration, so an encoder's keyframe interval up to three target durations (at least
    /// 6 s) is taken as it is; a longer one is cut at this length. In 90 kHz.
    static func firstSegmentLimit(_ configuration: HLSConfiguration) -> Int64 {
        Int64(max(6, 3 * configuration.segmentDuration.rounded(.up))) * 90000
    }

    /// Opens the next segment's file; false (and the output ended) if the system refuses one.
    func startSegment(pts: Int64, dts: Int64) -> Bool {
        guard let output, let writer else { return false }
        let anchor = self.anchor ?? (Date(), pts)
        let programDateTime = anchor.date.addingTimeInterval(Double(pts - anchor.pts) / 90000)
        do {
            // Named after its stream too: `ls -l /proc/<pid>/fd` then says whose segment each file is.
            try writer.startSegment(
                name: "cuecast-\(path)/\(output.epoch)-\(nextSequence).ts", sequence: nextSequence, startPTS: pts,
                programDateTime: programDateTime, discontinuity: discontinuityPending)
        } catch {
            return fail("no file for segment \(nextSequence): \(error)")
        }
        do {
            let (rotations, refused, deferred) = (cmaf?.muxerRotations, cmaf?.rotationsRefused, cmaf?.rotationsDeferred)
            try cmaf?.startSegment(
                name: "cuecast-\(path)/\(output.epoch)-\(nextSequence).m4s", sequence: nextSequence, startPTS: pts, startDTS: dts,
                programDateTime: programDateTime, discontinuity: discontinuityPending)
            if let cmaf, cmaf.muxerRotations != rotations {
                logger.debug("fMP4 muxer replaced", metadata: ["stream": "\(path)", "segment": "\(nextSequence)", "after_fragments": "\(cmaf.fragmentsPerMuxer)"])
            }
            if let cmaf, cmaf.rotationsDeferred != deferred {
                logger.debug("fMP4 muxer replacement put off: this keyframe's composition offset is not the timeline's", metadata: ["stream": "\(path)", "segment": "\(nextSequence)"])
            }
            if let cmaf, cmaf.rotationsRefused != refused {
                logger.warning(
                    "fMP4 muxer kept: a fresh one could not be made or its init segment differs; tried again later",
                    metadata: ["stream": "\(path)", "segment": "\(nextSequence)", "retry_after_fragments": "\(cmaf.fragmentsPerMuxer)"])
            }
        } catch {
            // Only the low-latency rendition stops; the TS output goes on.
            lowLatencyFailed("no file for segment \(nextSequence): \(error)")
        }
        discontinuityPending = false
        nextSequence += 1
        return true
    }

    /// Ends the open segment (at `endPTS` when the next one starts there) and lists it.
    /// `endDTS`: the decode time of the frame that starts the next segment (nil when nothing follows).
    func finishSegment(endPTS: Int64?, endDTS: Int64?) {
        guard let writer, let output else { return }
        let finished: (builder: SegmentBuilder, end: Int64)?
        do {
            finished = try writer.finishSegment(endPTS: endPTS)
        } catch {
            _ = fail("\(error)")
            return
        }
        output.writingBytes.store(0, ordering: .relaxed)
        guard let (builder, end) = finished else {
            _ = cmaf?.finishSegment()
            return
        }
        let now = Date()
        output.purge(now: now)
        let segment = Segment(
            sequence: builder.sequence, uri: "\(output.epoch)-\(builder.sequence).ts", duration: Double(end - builder.startPTS) / 90000,
            programDateTime: builder.programDateTime, discontinuity: builder.discontinuity, startPTS: builder.startPTS,
            parts: builder.parts, file: SegmentFile(builder.file), videoFrames: builder.videoFrames, audioFrames: builder.audioFrames)
        output.append(segment, now: now)
        finishLowLatencySegment(end: end, endDTS: endDTS, now: now)
        if fixedTarget == nil {
            // The first segment fixed the playlist's target duration; no later one may round above it.
            fixedTarget = Int64(output.targetDuration) * 90000
            cutter?.maxDuration = fixedTarget!
            logger.info("target duration fixed", metadata: ["seconds": "\(output.targetDuration)"])
        }
        mirror?.write(segment, playlist: output)
        if nextSequence + Self.sequenceBlock / 2 > reservedUpTo {
            // Half the block is left: reserve the next one well before it is needed.
            reservedUpTo += Self.sequenceBlock
            extendReservation(reservedUpTo)
        }
    }

    /// Ends this stream's HLS output after a muxer failure; other streams are not affected.
    func fail(_ reason: String) -> Bool {
        failed = true
        writer = nil
        cmaf = nil
        output?.setState(.ended)
        logger.error("HLS output ended", metadata: ["reason": "\(reason)"])
        return false
    }
}

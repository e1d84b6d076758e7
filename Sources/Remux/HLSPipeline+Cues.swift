import Cues
import Foundation
import HLS
import Media

/// Cues on their way to a frame: each waits in the pipeline until a frame satisfies it, then an ID3 tag with that
/// frame's PTS goes into the segment and a DATERANGE into the playlist.
extension HLSPipeline {
    func cueArrived(_ cue: PendingCue) {
        guard output != nil, !failed else { return cue.bound(nil) }
        if case .notBefore(let instant) = cue.target, let builder = current, let last = builder.pacePTS.last,
            instant <= date(of: last, in: builder)
        {
            // An instant already passed: frames of the open segment can still take it; published ones cannot.
            // Frames are recorded in decode order; the one shown first at or after the instant has the lowest PTS.
            guard let pts = builder.pacePTS.filter({ date(of: $0, in: builder) >= instant }).min(), instant >= builder.programDateTime else {
                logger.notice("cue instant is in a published segment", metadata: ["cue": "\(cue.id)"])
                return cue.bound(nil)
            }
            bind(cue, pts: pts)
            return
        }
        pendingCues.append(cue)
    }

    private func date(of pts: Int64, in builder: SegmentBuilder) -> Date {
        builder.programDateTime.addingTimeInterval(Double(pts - builder.startPTS) / 90000)
    }

    /// Binds every waiting cue this frame satisfies.
    ///
    /// An instant is due once decode time reaches it: every frame presented at or after the instant but before
    /// this one has been decoded, so written, by then, and the earliest of them (or this frame) carries the cue.
    func bindCues(frame: MediaPacket, pts: Int64) {
        guard let builder = current else { return }
        let frameDate = date(of: pts, in: builder)
        let decodeDate = date(of: Self.tsTime(frame.dts), in: builder)
        var waiting: [PendingCue] = []
        for cue in pendingCues {
            switch cue.target {
            case .nextFrame where lastCuePTS.map({ pts >= $0 }) ?? true:
                bind(cue, pts: pts)
            case .nextFrame:
                // A B-frame decoded after the previous cue's frame is shown before it; the cue takes the next frame
                // shown after, as the metadata track's timestamps cannot go back.
                waiting.append(cue)
            case .notBefore(let instant) where decodeDate >= instant:
                let written = builder.pacePTS.filter { date(of: $0, in: builder) >= instant }
                bind(cue, pts: (written + (frameDate >= instant ? [pts] : [])).min() ?? pts)
            case .mediaTime(let ms) where frame.pts >= ms:
                bind(cue, pts: pts)
            default:
                waiting.append(cue)
            }
        }
        pendingCues = waiting
    }

    /// An ID3 tag with the frame's PTS goes into the open segment, and the DATERANGE is listed once that segment
    /// is published.
    private func bind(_ cue: PendingCue, pts: Int64) {
        guard let builder = current, let muxer, let output, let id3Index = muxer.streams.firstIndex(of: .timedID3) else {
            return cue.bound(nil)
        }
        // The metadata stream's timestamps must not go back: a cue cannot land before one already placed.
        if let last = lastCuePTS, pts < last {
            logger.notice("cue instant is before a cue already placed", metadata: ["cue": "\(cue.id)"])
            return cue.bound(nil)
        }
        lastCuePTS = pts
        let frameDate = date(of: pts, in: builder)
        let json = cue.playerJSON(pts: pts)
        let tag = ID3Tag.userText(description: "cuecast", text: json)
        do {
            try tag.withUnsafeBytes { bytes in
                try muxer.write(stream: id3Index, pts: pts, dts: pts, isKeyframe: true, data: bytes)
            }
        } catch {
            logger.error("could not write cue \(cue.id): \(error)")
            return cue.bound(nil)
        }
        output.addDateRange(
            DateRange(id: cue.id, kind: cue.kind, startDate: frameDate, duration: cue.duration, playerJSON: json),
            segmentSequence: builder.sequence)
        cue.bound(
            BoundCue(
                pts: pts, programDateTime: frameDate, segmentSequence: builder.sequence, mediaTime: (pts - Self.tsOffset) / 90,
                playerJSON: json))
    }
}

import Cues
import Foundation
import HLS
import Logging
import Media
import NIOCore
import StreamHub
import Synchronization

/// Turns one stream path's publishes into HLS; the orchestrator of the parts that do the work: packets →
/// `TimestampRepair` → `CompositionShift` (video) → `PacketInterleaver` → `SegmentCutter` decides → `TSSegmentWriter` (muxer and memory
/// files, laid out by `MuxerLayout`) → segments listed in the `HLSStream`, dated by the publish's `MediaClock`,
/// with the cues the stream's `CueBinder` placed (`HLSPipeline+Cues`).
///
/// One pipeline per path. No single frame ends its output: a frame the muxer refuses is dropped and counted,
/// headers it cannot use leave it waiting for usable ones; only the file system refusing a segment ends it. It lives across publishes: a republish
/// within the grace period continues the playlist after a discontinuity. It runs on the publisher's event loop
/// (see `HLSPipelineSubscriber`): remuxing a frame costs less than handing it to another thread.
final class HLSPipeline {
    let path: StreamPath
    let configuration: HLSConfiguration
    let store: HLSStore
    /// Asks the service to reserve numbers up to the given one (never waited for: half a block is left).
    let extendReservation: @Sendable (Int) -> Void
    let mirror: DiskMirror?
    var logger: Logger

    var output: HLSStream?
    var nextSequence = 0
    /// The TS muxer and the open segment's file, for the current timeline.
    var writer: TSSegmentWriter?
    /// The CMAF muxer of the low-latency rendition, for the current timeline (`HLSPipeline+LowLatency`).
    var cmaf: CMAFSegmentWriter?
    /// The part target fixed by the first segment, 90 kHz: no later part runs longer.
    var fixedPartLimit: Int64?
    /// The last `emsg` id given in the low-latency rendition.
    var nextEventID: UInt32 = 0
    var failed = false
    var cutter: SegmentCutter?
    private var repair = TimestampRepair()
    private var composition = CompositionShift()
    /// The playlist's fixed target duration in 90 kHz, once its first segment set it (`SegmentWindow`).
    var fixedTarget: Int64?
    /// Why the current headers cannot be muxed; frames wait for new headers meanwhile.
    private var layoutRefused: String?
    private(set) var droppedFrames = 0
    private var interleaver: PacketInterleaver
    private var videoHeader: MediaPacket? {
        didSet { hasVideo = videoHeader != nil }
    }
    private var audioHeader: MediaPacket? {
        didSet { hasAudio = audioHeader != nil }
    }
    /// Whether the headers are there, read for every packet without copying a header.
    private var hasVideo = false
    private var hasAudio = false
    var discontinuityPending = false
    /// The publish's media clock (`StreamEvent.Kind.clock`) in 90 kHz: program date times follow media time from
    /// there, the same clock cues are dated by.
    var anchor: (date: Date, pts: Int64)?
    private var lastVideoDTS: Int64?
    private var videoFrameDuration: Int64 = 3000
    private var audioFrameDuration: Int64 = 1920
    /// The pace-setting track's frame interval, when steady: a low-latency part then ends with its last frame.
    private var cadence = FrameCadence()
    private(set) var droppedBeforeKeyframe = 0
    /// Cues placed on frames not yet written.
    var pendingPlacements: [PlacedCue] = []
    var reservedUpTo = 0
    /// The publish whose events the pipeline takes, and whether its end has come.
    private(set) var following: PublishID?
    private var followedEnded = false
    /// Events held while sequence numbers are reserved.
    private var waiting: [StreamEvent]?
    /// A reservation takes milliseconds; this only bounds the queue if the database stalls.
    static let waitingLimit = 50_000
    static let sequenceBlock = 1000
    /// Added to every timestamp written: with copyts the muxer needs room before the first DTS for its PCR.
    static let tsOffset: Int64 = 900_000

    init(
        path: StreamPath, configuration: HLSConfiguration, store: HLSStore, mirror: DiskMirror?, logger: Logger,
        extendReservation: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.path = path
        self.configuration = configuration
        self.store = store
        self.extendReservation = extendReservation
        self.mirror = mirror
        self.interleaver = PacketInterleaver(maxWait: configuration.interleaveWait)
        var logger = logger
        logger[metadataKey: "stream"] = "\(path)"
        self.logger = logger
    }

    /// Takes one event, on the publisher's event loop.
    ///
    /// Returns true when a new playlist needs its first sequence number: the caller reserves numbers
    /// (`reserveSequences`) and hands the first to `begin(firstSequence:)`; events wait in order until then.
    ///
    /// The pipeline follows one publish at a time. A new publish that starts before the old one's end arrives
    /// (the two run on different event loops) ends the old one first; the old end, when it comes, is ignored,
    /// as is anything else of a publish not followed.
    func receive(_ event: StreamEvent) -> Bool {
        if waiting != nil {
            if case .packet = event.kind, waiting!.count >= Self.waitingLimit {
                droppedBeforeKeyframe += 1
            } else {
                waiting!.append(event)
            }
            return false
        }
        if case .started = event.kind {
            if let following, following != event.publish, !followedEnded {
                ended(reason: "publish \(event.publish) replaced it")
            }
            following = event.publish
            followedEnded = false
            return started()
        }
        guard event.publish == following, !followedEnded else { return false }
        switch event.kind {
        case .started: return false
        case .packet(let packet): packetArrived(packet)
        case .clock(let clock): anchor = (clock.anchorDate, Self.tsTime(clock.anchorPTS))
        case .cuePlaced(let cue): placementArrived(cue)
        case .ended(let reason):
            followedEnded = true
            ended(reason: reason)
        case .metadata: break
        }
        return false
    }

    // MARK: Publish lifecycle

    private func started() -> Bool {
        failed = false
        layoutRefused = nil
        repair.reset()
        composition = CompositionShift()
        interleaver = PacketInterleaver(maxWait: configuration.interleaveWait)
        videoHeader = nil
        audioHeader = nil
        anchor = nil
        lastVideoDTS = nil
        pendingPlacements = []
        if let output, output.transition(from: .grace, to: .live) {
            discontinuityPending = true
            logger.info("republished within grace period; playlist continues after a discontinuity")
            return false
        }
        waiting = []
        return true
    }

    /// Starts the playlist at `firstSequence` and plays the events that waited for it. Returns true if those
    /// events started another publish that needs its own numbers.
    func begin(firstSequence next: Int) -> Bool {
        reservedUpTo = next + Self.sequenceBlock
        let epoch = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
        let stream = HLSStream(
            path: path, epoch: epoch, windowSize: configuration.windowSize, targetDuration: configuration.segmentDuration,
            lowLatency: configuration.lowLatency)
        store.put(stream)
        output = stream
        nextSequence = next
        fixedTarget = nil
        fixedPartLimit = nil
        discontinuityPending = false
        logger.info("HLS playlist started", metadata: ["epoch": "\(epoch)", "first_sequence": "\(next)"])
        let queued = waiting ?? []
        waiting = nil
        for (index, event) in queued.enumerated() where receive(event) {
            waiting = Array(queued[(index + 1)...])
            return true
        }
        return false
    }

    private func ended(reason: String) {
        for packet in composition.flush() { interleaver.push(packet) }
        while let packet = interleaver.next(flushing: true) { write(packet) }
        pendingPlacements = []
        finishSegment(endPTS: nil, endDTS: nil)
        writer = nil
        cmaf = nil
        cutter = nil
        output?.setState(.grace)
        logger.info("publisher gone; playlist in grace period", metadata: ["reason": "\(reason)", "timestamp_repairs": "\(repair.repairs)"])
    }

    // MARK: Packets

    private func packetArrived(_ packet: MediaPacket) {
        guard output != nil, !failed else { return }
        switch packet.kind {
        case .sequenceHeader:
            headerArrived(packet)
        case .endOfSequence:
            return
        case .frame:
            var fixed = packet
            let repaired = repair.repair(&fixed)
            if repaired { output?.timestampRepairs.add(1, ordering: .relaxed) }
            if repaired && repair.repairs <= 10 {
                logger.notice("repaired DTS regression", metadata: ["track": "\(packet.track)", "dts": "\(packet.dts)", "now": "\(fixed.dts)"])
            }
            if fixed.track == .video {
                let before = composition.dropped
                for ready in composition.push(fixed) { interleaver.push(ready) }
                if composition.dropped > before {
                    countDropped(composition.dropped - before)
                    logger.warning(
                        "dropped a video frame decoded later than the decode lead allows",
                        metadata: ["dts": "\(fixed.dts)", "pts": "\(fixed.pts)", "lead_ms": "\(composition.shift ?? 0)"])
                }
            } else {
                interleaver.push(fixed)
            }
            while let ready = interleaver.next() { write(ready) }
        }
    }

    private func headerArrived(_ packet: MediaPacket) {
        let previous = packet.track == .video ? videoHeader : audioHeader
        if let previous, previous.payload == packet.payload, previous.codec == packet.codec { return }
        // Kept for the whole publish: a copy of its own, not a slice pinning a whole socket read buffer.
        var header = packet
        header.payload = ByteBufferAllocator().buffer(buffer: packet.payload)
        // Frames of the old configuration go out under it.
        for ready in composition.flush() { interleaver.push(ready) }
        composition = CompositionShift()
        if packet.track == .video { videoHeader = header } else { audioHeader = header }
        interleaver.expect(packet.track)
        if let refused = layoutRefused {
            layoutRefused = nil
            logger.info("new \(packet.track) sequence header; trying again after: \(refused)")
        }
        if writer != nil {
            // New codec parameters: the current segment ends and the next one starts a new timeline.
            while let ready = interleaver.next(flushing: true) { write(ready) }
            finishSegment(endPTS: nil, endDTS: nil)
            writer = nil
            cmaf = nil
            cutter = nil
            discontinuityPending = true
            logger.info("new \(packet.track) sequence header mid-stream; next segment starts after a discontinuity")
        }
    }

    /// Makes the muxer for the current headers. Headers it cannot use leave the output waiting (frames dropped)
    /// for the next ones, never ended: the publisher may still send usable ones.
    private func makeWriter(firstFrame: MediaPacket) -> Bool {
        do {
            let layout = try MuxerLayout(video: videoHeader, audio: audioHeader)
            writer = try TSSegmentWriter(layout: layout)
            makeLowLatencyWriter(layout: layout)
            if let duration = layout.audioFrameDuration { audioFrameDuration = duration }
            output?.describe(codecs: layout.codecs, resolution: layout.resolution.map { ($0.width, $0.height) })
        } catch {
            let reason = (error as? MuxerLayout.Failure)?.description ?? "\(error)"
            layoutRefused = reason
            logger.warning("HLS waits for usable sequence headers; frames dropped until then", metadata: ["reason": "\(reason)"])
            return false
        }
        cutter = SegmentCutter(
            targetDuration: Int64(configuration.segmentDuration * 90000), partTarget: Int64(configuration.partDuration * 90000),
            hasVideo: videoHeader != nil, maxDuration: fixedTarget ?? Self.firstSegmentLimit(configuration))
        cutter?.partLimit = fixedPartLimit ?? .max
        cadence = FrameCadence()
        if anchor == nil { anchor = (Date(), Self.tsTime(firstFrame.pts)) }
        return true
    }

    private func streamIndex(of track: Track) -> Int? {
        switch track {
        case .video: hasVideo ? 0 : nil
        case .audio: hasAudio ? (hasVideo ? 1 : 0) : nil
        case .data: nil
        }
    }

    private func write(_ packet: MediaPacket) {
        guard !failed else { return }
        if packet.followsTimestampJump, writer != nil {
            // The ingest re-anchored the encoder's jumping timestamps: the timeline goes on, and the playlist
            // says where the break was.
            cutter?.breakTimeline()
            discontinuityPending = true
        }
        if writer == nil {
            if layoutRefused != nil {
                countDropped(1)
                return
            }
            // Video segments must start with a keyframe; audio waits for it too so the first segment is aligned.
            if hasVideo && !(packet.track == .video && packet.isKeyframe) {
                droppedBeforeKeyframe += 1
                return
            }
            guard makeWriter(firstFrame: packet) else { return }
        }
        guard let writer, let index = streamIndex(of: packet.track) else { return }
        let pts = Self.tsTime(packet.pts)
        let dts = Self.tsTime(packet.dts)
        let isVideo = packet.track == .video
        if isVideo {
            if let last = lastVideoDTS, dts > last { videoFrameDuration = dts - last }
            lastVideoDTS = dts
        }
        let setsPace = isVideo || !hasVideo
        let paceDuration = setsPace ? (isVideo ? videoFrameDuration : audioFrameDuration) : 0
        if setsPace { cadence.note(dts: dts) }
        switch cutter?.decide(isVideo: isVideo, isKeyframe: packet.isKeyframe, pts: pts, dts: dts, frameDuration: paceDuration) ?? .none {
        case .segment:
            finishSegment(endPTS: pts, endDTS: dts)
            if failed { return }
            if let arrival = packet.arrival {
                output?.recordListingDelay(Double((NIODeadline.now() - arrival).nanoseconds) / 1e9)
            }
        case .part:
            // Parts are published by the low-latency rendition only; the TS segment stays one run of bytes.
            closeLowLatencyPart(endDTS: dts)
        case .none:
            break
        }
        if writer.current == nil {
            guard startSegment(pts: pts, dts: dts) else { return }
        }
        if !pendingPlacements.isEmpty && (isVideo || !hasVideo) {
            writePlacements(upTo: pts)
        }
        do {
            try packet.payload.withUnsafeReadableBytes { bytes in
                try writer.write(stream: index, pts: pts, dts: dts, isKeyframe: packet.isKeyframe, bytes: bytes)
            }
        } catch TSSegmentWriter.Failure.file(let error) {
            // The segment's file failed (memory or descriptors exhausted): that ends the output, with its reason.
            _ = fail("writing segment file: \(error)")
            return
        } catch {
            // One frame the muxer refuses costs that frame, not the output.
            countDropped(1)
            if droppedFrames <= 10 || droppedFrames & (droppedFrames - 1) == 0 {
                logger.warning("dropped a frame the muxer refused", metadata: ["track": "\(packet.track)", "error": "\(error)", "dropped": "\(droppedFrames)"])
            }
            return
        }
        writeLowLatency(
            stream: index, pts: pts, dts: dts, estimate: isVideo ? videoFrameDuration : audioFrameDuration, isKeyframe: packet.isKeyframe,
            setsPace: setsPace, independent: isVideo ? packet.isKeyframe : !hasVideo, payload: packet.payload)
        if setsPace, cmaf != nil, let expected = cadence.expectedInterval, cutter?.endsPartAfter(dts: dts, expectedDuration: expected) == true {
            // The part is complete with this frame: list it now rather than when the next frame proves it.
            closeLowLatencyPart(endDTS: dts + expected, endIsExpected: true)
        }
        output?.writingBytes.store(writer.byteCount, ordering: .relaxed)
        writer.noteFrame(
            isVideo: isVideo, setsPace: setsPace, pts: pts, end: pts + (isVideo ? videoFrameDuration : audioFrameDuration))
    }

    static func tsTime(_ milliseconds: Int64) -> Int64 { milliseconds * 90 + tsOffset }

    /// Frames dropped without ending the output: counted here and in the stream's figures.
    private func countDropped(_ count: Int) {
        droppedFrames += count
        output?.droppedFrames.add(count, ordering: .relaxed)
    }
}

import FLV
import Foundation
import Logging
import NIOCore
import Media
import RTMP
import Store
import StreamHub

/// One authorized publish: counts and describes its media on the live stream, and records itself when it ends.
final class PublishSession: PublishSink {
    let stream: LiveStream
    let hub: StreamHub
    let sessionID: Int64
    let log: PublishSessionLog
    let logger: Logger
    let onInBandCue: @Sendable (InBandCue, LiveStream) -> Void
    /// Called once when the publish ends (the `publish_done` hook).
    let onEnded: @Sendable (String) -> Void
    /// What the ingest repairs before the stream sees a packet; owned by the publisher's event loop.
    struct Repairs {
        var gate = DecoderConfigurationGate()
        var timeline = TimestampJumpCorrector()
        /// Frames dropped in the current run (a log line when a run starts and when it ends).
        var droppedRun = 0
    }
    private let repairs: NIOLoopBoundBox<Repairs>
    private let origin = NIODeadline.now()

    init(
        stream: LiveStream, hub: StreamHub, sessionID: Int64, log: PublishSessionLog, logger: Logger,
        onInBandCue: @escaping @Sendable (InBandCue, LiveStream) -> Void, onEnded: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.onEnded = onEnded
        self.onInBandCue = onInBandCue
        self.repairs = NIOLoopBoundBox.makeBoxSendingValue(Repairs(), eventLoop: stream.eventLoop)
        self.stream = stream
        self.hub = hub
        self.sessionID = sessionID
        self.log = log
        self.logger = logger
    }

    func received(_ packet: MediaPacket) {
        var packet = packet
        // The connection stamps the time of the socket read the packet came in; one clock read serves them all.
        let now = packet.arrival ?? .now()
        packet.arrival = now
        let size = packet.payload.readableBytes
        if packet.kind == .sequenceHeader { packet.format = describe(packet) }
        if case .drop(let reason) = repairs.value.gate.admit(packet) {
            stream.counters.countDroppedMessage()
            repairs.value.droppedRun += 1
            if repairs.value.droppedRun == 1 {
                logger.warning("dropping media no decoder can use", metadata: ["stream": "\(stream.path)", "reason": "\(reason)"])
            }
            return
        }
        if repairs.value.droppedRun > 0, packet.kind == .frame {
            logger.notice("media decodable again", metadata: ["stream": "\(stream.path)", "dropped": "\(repairs.value.droppedRun)"])
            repairs.value.droppedRun = 0
        }
        let arrival = (now - origin).nanoseconds / 1_000_000
        if let jump = repairs.value.timeline.correct(&packet, arrival: arrival) {
            packet.followsTimestampJump = true
            stream.counters.countTimestampJump()
            logger.warning(
                "encoder timestamps jumped; timeline re-anchored",
                metadata: ["stream": "\(stream.path)", "track": "\(jump.track)", "dts": "\(jump.from)", "now": "\(jump.to)"])
        }
        switch (packet.kind, packet.track) {
        case (.frame, .video): stream.counters.countVideoFrame(bytes: size, keyframe: packet.isKeyframe, dts: packet.dts)
        case (.frame, .audio): stream.counters.countAudioFrame(bytes: size, dts: packet.dts)
        default: stream.counters.countOtherBytes(size)
        }
        stream.deliver(packet)
    }

    /// Parses a sequence header, the one place codec facts are read, and puts them in the stream's description.
    /// A header that does not parse is logged, not fatal (outputs that need it say so).
    private func describe(_ packet: MediaPacket) -> TrackFormat? {
        do {
            let format = try TrackFormat(header: packet)
            stream.updateDescription { description in
                if let video = format.video {
                    description.video = video
                    description.videoCodecString = format.codecString
                }
                if let audio = format.audio {
                    description.audio = audio
                    description.audioCodecString = format.codecString
                }
            }
            logger.info("sequence header", metadata: ["stream": "\(stream.path)", "codec": "\(packet.codec.rawValue)"])
            return format
        } catch {
            logger.warning("unreadable sequence header", metadata: ["stream": "\(stream.path)", "error": "\(error)"])
            return nil
        }
    }

    func received(_ metadata: StreamMetadata, values: AMF0Value) {
        // Relayed to players as sent (an object or an ECMA array, whichever the encoder used), as an ECMA array.
        stream.deliver(metadata: ScriptData.onMetaData(values.properties ?? []))
        stream.updateDescription { description in
            description.encoder = metadata.encoder ?? description.encoder
            description.declaredFrameRate = metadata.frameRate ?? description.declaredFrameRate
            if var video = description.video, video.width == nil {
                video.width = metadata.width.map { Int($0) }
                video.height = metadata.height.map { Int($0) }
                description.video = video
            }
        }
        logger.info(
            "metadata", metadata: ["stream": "\(stream.path)", "encoder": "\(metadata.encoder ?? "unknown")"])
    }

    func received(_ cue: InBandCue) {
        stream.record(cue)
        onInBandCue(cue, stream)
        logger.info("in-band cue", metadata: ["stream": "\(stream.path)", "kind": "\(cue.kind.rawValue)"])
    }

    func dropped(typeID: UInt8, reason: String) {
        stream.counters.countDroppedMessage()
    }

    func ended(reason: String) {
        let reason = stream.terminationReason ?? reason
        let counters = stream.counters
        let description = stream.streamDescription
        let summary = PublishSessionSummary(
            encoder: description.encoder, videoCodec: description.video?.codec.rawValue,
            audioCodec: description.audio?.codec.rawValue, bytes: Int64(counters.bytes),
            videoFrames: Int64(counters.videoFrames), audioFrames: Int64(counters.audioFrames), endReason: reason)
        hub.release(stream, reason: reason)
        logger.info(
            "publish ended",
            metadata: [
                "stream": "\(stream.path)", "remote": "\(stream.remoteAddress)", "reason": "\(reason)",
                "video_frames": "\(counters.videoFrames)", "audio_frames": "\(counters.audioFrames)",
                "bytes": "\(counters.bytes)",
            ])
        onEnded(reason)
        let (log, id, logger) = (self.log, sessionID, self.logger)
        Task {
            do {
                try await log.end(id: id, summary: summary)
            } catch {
                logger.error("could not record end of publish session \(id): \(error)")
            }
        }
    }
}


import Cues
import Foundation
import Media
import NIOCore
import Synchronization
import NIOConcurrencyHelpers

/// What is known about a live stream's media, updated when sequence headers or metadata arrive.
public struct StreamDescription: Sendable, Codable, Equatable {
    public var video: VideoConfig?
    public var audio: AudioConfig?
    /// RFC 6381 codec strings, e.g. `avc1.64001f` and `mp4a.40.2`.
    public var videoCodecString: String?
    public var audioCodecString: String?
    public var encoder: String?
    public var declaredFrameRate: Double?

    public init() {}

    public var codecStrings: [String] { [videoCodecString, audioCodecString].compactMap { $0 } }
}

/// One publish: created when a publisher claims a path, done when it leaves. Everything that sends the stream
/// anywhere is a reader of it (see `StreamReader`).
///
/// Its fan-out state (the readers, the latest sequence headers and `onMetaData`, the current GOP) belongs to the
/// publisher's event loop: the publisher delivers there, and work from elsewhere (a reader joining, a cue placed
/// over HTTP) hops onto that loop rather than taking a lock the loop also takes.
public final class LiveStream: Sendable {
    public let path: StreamPath
    public let publish: PublishID
    /// The publisher's event loop, which owns the fan-out.
    public let eventLoop: any EventLoop
    public let remoteAddress: String
    public let startedAt: Date
    public let counters: IngestCounters
    private let descriptionStorage = NIOLockedValueBox(StreamDescription())
    private let inBandCueStorage = NIOLockedValueBox<[InBandCue]>([])
    private let samples = NIOLockedValueBox(CounterSamples())
    private let terminator = NIOLockedValueBox<(@Sendable (String) -> Void)?>(nil)
    private let terminationReasonStorage = NIOLockedValueBox<String?>(nil)
    private let fanOut: NIOLoopBoundBox<FanOut>
    /// Players and viewers reading this publish now (RTMP play, HTTP-FLV), for limits and the API.
    public let viewers = Atomic<Int>(0)
    /// Whether cues also ride in their frame as H.264/HEVC SEI (`UserDataSEI`), for players that read SEI but not
    /// script data. Set by the publisher (`cueSEI=1` in the publish URL) before its first frame.
    public let embedsCuesInSEI = Atomic<Bool>(false)
    /// The stream the publisher's key belongs to, when a hook renamed the publish (revoking that key ends it too).
    public let keyPath = NIOLockedValueBox<StreamPath?>(nil)
    /// How many in-band cues are kept per stream; older ones are dropped first.
    public static let inBandCueLimit = 256

    init(
        path: StreamPath, publish: PublishID, eventLoop: any EventLoop, remoteAddress: String, startedAt: Date,
        countsStatistics: Bool = true, gopCache: GOPCache.Limits = .init()
    ) {
        counters = IngestCounters(enabled: countsStatistics)
        self.path = path
        self.publish = publish
        self.eventLoop = eventLoop
        self.remoteAddress = remoteAddress
        self.startedAt = startedAt
        fanOut = .makeBoxSendingValue(FanOut(gop: GOPCache(limits: gopCache)), as: FanOut.self, eventLoop: eventLoop)
    }

    /// What the publisher's loop owns.
    final class FanOut {
        var readers: [any StreamReader] = []
        var videoHeader: MediaPacket?
        var audioHeader: MediaPacket?
        var metadata: ByteBuffer?
        var gop: GOPCache
        var binder = CueBinder()
        var ended = false
        /// Readers that joined with no GOP to start from (the cache is off, or the GOP outgrew it), kept apart from
        /// `readers` until the next video keyframe: they get no frame and no cue before it, so their decoder starts
        /// on one.
        var awaitingKeyframe: [any StreamReader] = []

        init(gop: GOPCache) { self.gop = gop }
    }

    // MARK: Publisher side (on `eventLoop`)

    /// Starts the publish for `readers` (the path's followers); on the publisher's loop, before any packet.
    func start(readers: [any StreamReader]) {
        eventLoop.execute { [self] in
            fanOut.value.readers += readers
            deliver(.started(remoteAddress: remoteAddress))
        }
    }

    /// Hands a packet to every reader, and keeps what a late reader needs. On the publisher's event loop.
    public func deliver(_ packet: MediaPacket) {
        let state = fanOut.value
        switch packet.kind {
        case .sequenceHeader:
            // Kept for the whole publish: a copy of its own, not a slice pinning a whole socket read buffer.
            var header = packet
            header.payload = ByteBufferAllocator().buffer(buffer: packet.payload)
            if packet.track == .video { state.videoHeader = header } else { state.audioHeader = header }
            state.gop.reset()
        case .frame:
            var packet = packet
            // Before the cues bound to it go out: they belong to the first frame these readers get.
            if packet.track == .video && packet.isKeyframe && !state.awaitingKeyframe.isEmpty {
                state.readers += state.awaitingKeyframe
                state.awaitingKeyframe = []
            }
            if packet.track == .video || state.videoHeader == nil {
                let here = bindCues(at: packet)
                if !here.isEmpty, packet.track == .video, embedsCuesInSEI.load(ordering: .relaxed) { embed(here, in: &packet) }
            }
            state.gop.add(packet, hasVideo: state.videoHeader != nil)
            deliver(.packet(packet))
            return
        case .endOfSequence:
            break
        }
        deliver(.packet(packet))
    }

    /// Puts each cue's JSON into the frame as a `user_data_unregistered` SEI message (`UserDataSEI`), without
    /// re-encoding: a new buffer with the SEI NAL unit before the first slice.
    private func embed(_ cues: [PlacedCue], in frame: inout MediaPacket) {
        let lengthSize = fanOut.value.videoHeader?.format?.nalLengthSize ?? 4
        for cue in cues {
            guard let nal = UserDataSEI.nalUnit(text: cue.json, codec: frame.codec),
                let payload = UserDataSEI.insert(nal, into: frame.payload, codec: frame.codec, lengthSize: lengthSize)
            else { continue }
            frame.payload = payload
        }
    }

    /// Runs the binder on a binding frame: what it places goes out before the frame. Returns the cues placed on
    /// this very frame (a B-frame's cue can land on a frame already delivered).
    private func bindCues(at frame: MediaPacket) -> [PlacedCue] {
        let state = fanOut.value
        let hadClock = state.binder.clock != nil
        let outcomes = state.binder.frame(
            pts: frame.pts, dts: frame.dts, isKeyframe: frame.track == .audio || frame.isKeyframe)
        if !hadClock, let clock = state.binder.clock { deliver(.clock(clock)) }
        return outcomes.compactMap { settle($0) }.filter { $0.timestamp == frame.pts }
    }

    @discardableResult
    private func settle(_ outcome: CueBinder.Outcome) -> PlacedCue? {
        switch outcome {
        case .bound(let binding):
            guard let clock = fanOut.value.binder.clock else {
                binding.cue.bound(nil)
                return nil
            }
            let cue = binding.cue
            let transportTime = BoundCue.transportTime(ofMediaTime: binding.pts)
            let json = cue.playerJSON(pts: transportTime)
            let date = clock.date(ofPTS: binding.pts)
            cue.bound(BoundCue(pts: transportTime, programDateTime: date, mediaTime: binding.pts, playerJSON: json))
            let placed = PlacedCue(id: cue.id, kind: cue.kind, json: json, timestamp: binding.pts, programDateTime: date, duration: cue.duration)
            deliver(.cuePlaced(placed))
            return placed
        case .refused(let cue, _):
            cue.bound(nil)
            return nil
        case .waiting:
            return nil
        }
    }

    /// Keeps the publisher's `onMetaData` (a script data body) and hands it on. On the publisher's event loop.
    public func deliver(metadata: ByteBuffer) {
        fanOut.value.metadata = metadata
        deliver(.metadata(metadata))
    }

    /// The publish is over: readers get `.ended` and are let go. On the publisher's event loop.
    func end(reason: String) {
        eventLoop.execute { [self] in
            guard !fanOut.value.ended else { return }
            for cue in fanOut.value.binder.end() { cue.bound(nil) }
            deliver(.ended(reason: reason))
            fanOut.value.ended = true
            fanOut.value.readers = []
            fanOut.value.awaitingKeyframe = []
            fanOut.value.gop.reset()
        }
    }

    private func deliver(_ kind: StreamEvent.Kind) {
        let state = fanOut.value
        guard !state.ended else { return }
        let event = StreamEvent(publish: publish, kind: kind)
        for reader in state.readers { reader.receive(event) }
        if !state.awaitingKeyframe.isEmpty && !kind.isMediaOrCue {
            for reader in state.awaitingKeyframe { reader.receive(event) }
        }
    }

    // MARK: From anywhere

    /// Places a cue on a frame of this publish (see `CueBinder`): the binder's answer goes to `cue.bound`, and
    /// every reader gets `.cuePlaced`. From anywhere: it hops onto the publisher's loop, or, already there (an
    /// in-band cue), is taken at once, between the packets it came between.
    public func mark(_ cue: PendingCue) {
        let take: @Sendable () -> Void = { [self] in
            guard !fanOut.value.ended else { return cue.bound(nil) }
            settle(fanOut.value.binder.add(cue))
        }
        if eventLoop.inEventLoop { take() } else { eventLoop.execute(take) }
    }

    /// Adds a reader of this publish: it gets, at once, `onMetaData`, the sequence headers and the current GOP
    /// (from its keyframe), then live events. `done` runs on the publisher's loop, false if the publish ended.
    public func attach(_ reader: any StreamReader, done: (@Sendable (Bool) -> Void)? = nil) {
        eventLoop.execute { [self] in
            let state = fanOut.value
            guard !state.ended else {
                done?(false)
                return
            }
            if let metadata = state.metadata { reader.receive(StreamEvent(publish: publish, kind: .metadata(metadata))) }
            for header in [state.videoHeader, state.audioHeader].compactMap({ $0 }) {
                var header = header
                // Stamped with the first frame's time: some players take a header's timestamp as the start.
                if let first = state.gop.firstTimestamp { header.dts = first; header.pts = first }
                reader.receive(StreamEvent(publish: publish, kind: .packet(header)))
            }
            let gop = state.gop.packets
            for packet in gop { reader.receive(StreamEvent(publish: publish, kind: .packet(packet))) }
            if gop.isEmpty && state.videoHeader != nil {
                state.awaitingKeyframe.append(reader)
            } else {
                state.readers.append(reader)
            }
            done?(true)
        }
    }

    /// Removes a reader; it gets nothing more of this publish.
    public func detach(_ reader: any StreamReader) {
        eventLoop.execute { [self] in
            fanOut.value.readers.removeAll { $0 === reader }
            fanOut.value.awaitingKeyframe.removeAll { $0 === reader }
        }
    }

    public var streamDescription: StreamDescription {
        descriptionStorage.withLockedValue { $0 }
    }

    public func updateDescription(_ change: (inout StreamDescription) -> Void) {
        descriptionStorage.withLockedValue { change(&$0) }
    }

    /// Keeps a cue the streamer sent in-band, for the cue pipeline to pick up.
    public func record(_ cue: InBandCue) {
        inBandCueStorage.withLockedValue { cues in
            cues.append(cue)
            if cues.count > Self.inBandCueLimit { cues.removeFirst(cues.count - Self.inBandCueLimit) }
        }
    }

    public var inBandCues: [InBandCue] { inBandCueStorage.withLockedValue { $0 } }

    /// Sets how to end this publish from outside (the ingest closes the connection).
    public func onTerminate(_ action: @escaping @Sendable (String) -> Void) {
        terminator.withLockedValue { $0 = action }
    }

    /// Ends the publish, e.g. because its key was revoked.
    public func terminate(reason: String) {
        terminationReasonStorage.withLockedValue { $0 = reason }
        terminator.withLockedValue { $0 }?(reason)
    }

    /// Why the server ended this publish, if it did.
    public var terminationReason: String? { terminationReasonStorage.withLockedValue { $0 } }

    /// Takes the once-a-second sample that rates are measured from.
    public func sample(at time: ContinuousClock.Instant = .now) {
        let sample = CounterSamples.Sample(
            time: time, videoBytes: counters.videoBytes, audioBytes: counters.audioBytes, videoFrames: counters.videoFrames)
        samples.withLockedValue { $0.add(sample) }
    }

    public var statistics: StreamStatistics {
        let interval = counters.keyframeInterval
        return StreamStatistics(
            rates: samples.withLockedValue { $0.rates() }, keyframeIntervalMean: interval?.mean, keyframeIntervalMax: interval?.max,
            avDrift: counters.avDrift)
    }

    public func snapshot(now: Date = Date()) -> StreamSnapshot {
        let description = streamDescription
        return StreamSnapshot(
            stream: path.description, app: path.app, name: path.name, remoteAddress: remoteAddress,
            startedAt: startedAt, uptimeSeconds: now.timeIntervalSince(startedAt), video: description.video,
            audio: description.audio, codecs: description.codecStrings, encoder: description.encoder,
            declaredFrameRate: description.declaredFrameRate,
            counters: .init(
                videoFrames: counters.videoFrames, audioFrames: counters.audioFrames, keyframes: counters.keyframes,
                bytes: counters.bytes, ignoredMessages: counters.ignoredMessages,
                droppedMessages: counters.droppedMessages, timestampJumps: counters.timestampJumps, inBandCues: inBandCues.count),
            viewers: viewers.load(ordering: .relaxed),
            statistics: statistics)
    }
}

/// A live stream's state at one instant, as the API shows it.
public struct StreamSnapshot: Sendable, Codable, Equatable {
    public struct Counters: Sendable, Codable, Equatable {
        public var videoFrames: Int
        public var audioFrames: Int
        public var keyframes: Int
        public var bytes: Int
        public var ignoredMessages: Int
        /// Messages dropped because they do not decode, and frames dropped before a usable decoder configuration.
        public var droppedMessages: Int
        /// Jumps in the encoder's timestamps absorbed into one continuous timeline.
        public var timestampJumps: Int
        public var inBandCues: Int
    }

    public var stream: String
    public var app: String
    public var name: String
    public var remoteAddress: String
    public var startedAt: Date
    public var uptimeSeconds: Double
    public var video: VideoConfig?
    public var audio: AudioConfig?
    public var codecs: [String]
    public var encoder: String?
    public var declaredFrameRate: Double?
    public var counters: Counters
    /// RTMP players and HTTP-FLV viewers reading this publish now.
    public var viewers: Int
    public var statistics: StreamStatistics
}

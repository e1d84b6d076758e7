import Cues
import Foundation
import Media
import Synchronization

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

/// One stream being published right now.
public final class LiveStream: Sendable {
    public let path: StreamPath
    public let remoteAddress: String
    public let startedAt: Date
    public let counters: IngestCounters
    private let descriptionStorage = Mutex(StreamDescription())
    private let inBandCueStorage = Mutex<[InBandCue]>([])
    private let samples = Mutex(CounterSamples())
    private let terminator = Mutex<(@Sendable (String) -> Void)?>(nil)
    private let terminationReasonStorage = Mutex<String?>(nil)
    /// How many in-band cues are kept per stream; older ones are dropped first.
    public static let inBandCueLimit = 256

    /// Everyone reading this stream's path.
    public let readers: StreamReaders

    init(path: StreamPath, remoteAddress: String, startedAt: Date, readers: StreamReaders, countsStatistics: Bool = true) {
        counters = IngestCounters(enabled: countsStatistics)
        self.readers = readers
        self.path = path
        self.remoteAddress = remoteAddress
        self.startedAt = startedAt
    }

    /// Sends a cue down the stream, behind the packets already delivered.
    public func mark(_ cue: PendingCue) {
        readers.deliver(.cue(cue))
    }

    /// Hands a packet to every reader of the stream.
    public func deliver(_ packet: MediaPacket) {
        readers.deliver(.packet(packet))
    }

    public var streamDescription: StreamDescription {
        descriptionStorage.withLock { $0 }
    }

    public func updateDescription(_ change: (inout StreamDescription) -> Void) {
        descriptionStorage.withLock { change(&$0) }
    }

    /// Keeps a cue the streamer sent in-band, for the cue pipeline to pick up.
    public func record(_ cue: InBandCue) {
        inBandCueStorage.withLock { cues in
            cues.append(cue)
            if cues.count > Self.inBandCueLimit { cues.removeFirst(cues.count - Self.inBandCueLimit) }
        }
    }

    public var inBandCues: [InBandCue] { inBandCueStorage.withLock { $0 } }

    /// Sets how to end this publish from outside (the ingest closes the connection).
    public func onTerminate(_ action: @escaping @Sendable (String) -> Void) {
        terminator.withLock { $0 = action }
    }

    /// Ends the publish, e.g. because its key was revoked.
    public func terminate(reason: String) {
        terminationReasonStorage.withLock { $0 = reason }
        terminator.withLock { $0 }?(reason)
    }

    /// Why the server ended this publish, if it did.
    public var terminationReason: String? { terminationReasonStorage.withLock { $0 } }

    /// Takes the once-a-second sample that rates are measured from.
    public func sample(at time: ContinuousClock.Instant = .now) {
        let sample = CounterSamples.Sample(
            time: time, videoBytes: counters.videoBytes, audioBytes: counters.audioBytes, videoFrames: counters.videoFrames)
        samples.withLock { $0.add(sample) }
    }

    public var statistics: StreamStatistics {
        let interval = counters.keyframeInterval
        return StreamStatistics(
            rates: samples.withLock { $0.rates() }, keyframeIntervalMean: interval?.mean, keyframeIntervalMax: interval?.max,
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
                bytes: counters.bytes, ignoredMessages: counters.ignoredMessages, inBandCues: inBandCues.count),
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
    public var statistics: StreamStatistics
}

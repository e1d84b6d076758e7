import Synchronization
import NIOConcurrencyHelpers

/// Counters the ingest bumps per packet: relaxed atomics, so reading stats never slows the media path.
public final class IngestCounters: Sendable {
    let videoFramesStorage = Atomic<Int>(0)
    let audioFramesStorage = Atomic<Int>(0)
    let keyframesStorage = Atomic<Int>(0)
    let bytesStorage = Atomic<Int>(0)
    let ignoredMessagesStorage = Atomic<Int>(0)
    let droppedMessagesStorage = Atomic<Int>(0)
    let timestampJumpsStorage = Atomic<Int>(0)
    let videoBytesStorage = Atomic<Int>(0)
    let audioBytesStorage = Atomic<Int>(0)
    let lastVideoDTSStorage = Atomic<Int64>(Int64.min)
    let lastAudioDTSStorage = Atomic<Int64>(Int64.min)
    /// DTS of the latest keyframes (ms): touched once per GOP, so a lock costs nothing here.
    let keyframeTimes = NIOLockedValueBox<[Int64]>([])
    static let keyframeHistory = 11

    /// Off only to measure what statistics cost: then nothing is counted.
    let enabled: Bool

    public init(enabled: Bool = true) { self.enabled = enabled }

    public func countVideoFrame(bytes: Int, keyframe: Bool, dts: Int64 = 0) {
        guard enabled else { return }
        videoFramesStorage.add(1, ordering: .relaxed)
        bytesStorage.add(bytes, ordering: .relaxed)
        videoBytesStorage.add(bytes, ordering: .relaxed)
        lastVideoDTSStorage.store(dts, ordering: .relaxed)
        if keyframe {
            keyframesStorage.add(1, ordering: .relaxed)
            keyframeTimes.withLockedValue { times in
                times.append(dts)
                if times.count > Self.keyframeHistory { times.removeFirst() }
            }
        }
    }

    public func countAudioFrame(bytes: Int, dts: Int64 = 0) {
        guard enabled else { return }
        audioFramesStorage.add(1, ordering: .relaxed)
        bytesStorage.add(bytes, ordering: .relaxed)
        audioBytesStorage.add(bytes, ordering: .relaxed)
        lastAudioDTSStorage.store(dts, ordering: .relaxed)
    }

    public var videoBytes: Int { videoBytesStorage.load(ordering: .relaxed) }
    public var audioBytes: Int { audioBytesStorage.load(ordering: .relaxed) }

    /// Latest video DTS minus latest audio DTS, in seconds; nil until both tracks have frames.
    public var avDrift: Double? {
        let video = lastVideoDTSStorage.load(ordering: .relaxed)
        let audio = lastAudioDTSStorage.load(ordering: .relaxed)
        guard video != .min, audio != .min else { return nil }
        return Double(video - audio) / 1000
    }

    /// Seconds between the latest keyframes: mean and max; nil before two keyframes.
    public var keyframeInterval: (mean: Double, max: Double)? {
        let times = keyframeTimes.withLockedValue { $0 }
        guard times.count >= 2 else { return nil }
        let gaps = zip(times, times.dropFirst()).map { Double($1 - $0) / 1000 }
        return (gaps.reduce(0, +) / Double(gaps.count), gaps.max()!)
    }

    /// Bytes that are not frames (sequence headers, metadata).
    public func countOtherBytes(_ bytes: Int) {
        guard enabled else { return }
        bytesStorage.add(bytes, ordering: .relaxed)
    }

    public func countIgnoredMessage() {
        guard enabled else { return }
        ignoredMessagesStorage.add(1, ordering: .relaxed)
    }

    public var videoFrames: Int { videoFramesStorage.load(ordering: .relaxed) }
    public var audioFrames: Int { audioFramesStorage.load(ordering: .relaxed) }
    public var keyframes: Int { keyframesStorage.load(ordering: .relaxed) }
    public var bytes: Int { bytesStorage.load(ordering: .relaxed) }
    public var ignoredMessages: Int { ignoredMessagesStorage.load(ordering: .relaxed) }

    /// A message that did not decode, or a frame that cannot be decoded (before any usable decoder configuration).
    public func countDroppedMessage() {
        guard enabled else { return }
        droppedMessagesStorage.add(1, ordering: .relaxed)
    }

    public var droppedMessages: Int { droppedMessagesStorage.load(ordering: .relaxed) }

    /// A jump in the encoder's timestamps absorbed at the ingest (`TimestampJumpCorrector`).
    public func countTimestampJump() {
        timestampJumpsStorage.add(1, ordering: .relaxed)
    }

    public var timestampJumps: Int { timestampJumpsStorage.load(ordering: .relaxed) }
}

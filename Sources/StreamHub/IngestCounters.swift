import Synchronization

/// Counters the ingest bumps per packet: relaxed atomics, so reading stats never slows the media path.
public final class IngestCounters: Sendable {
    let videoFramesStorage = Atomic<Int>(0)
    let audioFramesStorage = Atomic<Int>(0)
    let keyframesStorage = Atomic<Int>(0)
    let bytesStorage = Atomic<Int>(0)
    let ignoredMessagesStorage = Atomic<Int>(0)

    public init() {}

    public func countVideoFrame(bytes: Int, keyframe: Bool) {
        videoFramesStorage.add(1, ordering: .relaxed)
        if keyframe { keyframesStorage.add(1, ordering: .relaxed) }
        bytesStorage.add(bytes, ordering: .relaxed)
    }

    public func countAudioFrame(bytes: Int) {
        audioFramesStorage.add(1, ordering: .relaxed)
        bytesStorage.add(bytes, ordering: .relaxed)
    }

    /// Bytes that are not frames (sequence headers, metadata).
    public func countOtherBytes(_ bytes: Int) {
        bytesStorage.add(bytes, ordering: .relaxed)
    }

    public func countIgnoredMessage() {
        ignoredMessagesStorage.add(1, ordering: .relaxed)
    }

    public var videoFrames: Int { videoFramesStorage.load(ordering: .relaxed) }
    public var audioFrames: Int { audioFramesStorage.load(ordering: .relaxed) }
    public var keyframes: Int { keyframesStorage.load(ordering: .relaxed) }
    public var bytes: Int { bytesStorage.load(ordering: .relaxed) }
    public var ignoredMessages: Int { ignoredMessagesStorage.load(ordering: .relaxed) }
}

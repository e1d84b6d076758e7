import NIOCore
import NIOConcurrencyHelpers

/// A reader that writes to a socket (an RTMP player, an HTTP-FLV viewer, a push): a bounded queue between the
/// publisher's event loop and the reader's own.
///
/// The publisher only appends and moves on; it never waits for the reader. When the queue is full, the reader
/// skips to the next video keyframe: that frame and everything after go in, whatever was queued is dropped, and
/// no frame between is ever sent (so a decoder never sees a GOP without its start). Every dropped frame is
/// counted. A reader whose queue has not been empty for `maxLag` is closed (`isClosed`): the publisher and the
/// other readers go on untouched. (After MediaMTX's `stream.Reader` and SRS's consumer queue.)
public final class QueuedStreamReader: StreamReader {
    public struct Configuration: Sendable {
        /// Events queued before the reader starts skipping: about 3 s of a 30 fps stream with AAC.
        public var capacity = 256
        /// How long the queue may stay non-empty before the reader is closed.
        public var maxLag: TimeAmount = .seconds(10)
        public init() {}
    }

    private struct State {
        var queue = CircularBuffer<StreamEvent>(initialCapacity: 64)
        var skipping = false
        var sawVideo = false
        var dropped = 0
        var lastCaughtUp = NIODeadline.now()
        var wakeScheduled = false
        var closedReason: String?
    }

    public let eventLoop: any EventLoop
    public let configuration: Configuration
    private let state = NIOLockedValueBox(State())
    private let wake: @Sendable () -> Void

    /// `wake` runs on `eventLoop` when events are waiting (or the reader was closed for lag): the consumer then
    /// calls `take` while it can write.
    public init(eventLoop: any EventLoop, configuration: Configuration = .init(), wake: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.wake = wake
    }

    /// On the publisher's event loop.
    public func receive(_ event: StreamEvent) {
        let scheduleWake: Bool = state.withLockedValue { state in
            guard state.closedReason == nil else { return false }
            if let frame = event.frame {
                if frame.track == .video { state.sawVideo = true }
                let startsGOP = frame.isKeyframe && (frame.track == .video || !state.sawVideo)
                if state.skipping && !startsGOP {
                    state.dropped += 1
                    return false
                }
                if startsGOP && (state.skipping || state.queue.count >= configuration.capacity) {
                    // Start again at this keyframe: frames still queued belong to GOPs the reader is too late for.
                    let before = state.queue.count
                    state.queue.removeAll { $0.frame != nil }
                    state.dropped += before - state.queue.count
                    state.skipping = false
                } else if state.queue.count >= configuration.capacity {
                    state.skipping = true
                    state.dropped += 1
                    return checkLag(&state)
                }
            }
            state.queue.append(event)
            if state.queue.count > 1, checkLag(&state) { return true }
            guard !state.wakeScheduled else { return false }
            state.wakeScheduled = true
            return true
        }
        if scheduleWake { eventLoop.execute(wake) }
    }

    /// True when the reader has just been closed for lagging, so the consumer must be woken to see it.
    private func checkLag(_ state: inout State) -> Bool {
        guard state.closedReason == nil, NIODeadline.now() - state.lastCaughtUp > configuration.maxLag else { return false }
        state.closedReason = "reader fell more than \(configuration.maxLag.nanoseconds / 1_000_000_000) s behind"
        // What it never got counts as dropped too.
        state.dropped += state.queue.reduce(0) { $0 + ($1.frame != nil ? 1 : 0) }
        state.queue.removeAll()
        return true
    }

    /// Takes up to `limit` queued events, on the reader's loop. Taking the last one counts as caught up.
    public func take(limit: Int = 64) -> [StreamEvent] {
        state.withLockedValue { state in
            state.wakeScheduled = false
            var taken: [StreamEvent] = []
            taken.reserveCapacity(min(limit, state.queue.count))
            while taken.count < limit, let event = state.queue.popFirst() { taken.append(event) }
            if state.queue.isEmpty { state.lastCaughtUp = .now() } else { state.wakeScheduled = true }
            return taken
        }
    }

    /// Why the reader was closed by the queue (it lagged), if it was.
    public var closedReason: String? { state.withLockedValue { $0.closedReason } }

    /// Frames dropped for this reader because it fell behind.
    public var droppedFrames: Int { state.withLockedValue { $0.dropped } }
}

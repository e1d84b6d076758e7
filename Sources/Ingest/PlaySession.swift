import FLV
import Logging
import Media
import NIOCore
import RTMP
import StreamHub

/// One RTMP player: a queued reader of the stream it plays, on the player's own event loop, turned into RTMP
/// messages. It follows the path: when the publisher leaves, the player is told (`UnpublishNotify`) and the
/// play goes on with the next publish.
///
/// Media messages are chunked once per chunk size and message stream id (`SharedEncodings`), and every player
/// sends the same bytes. A player that falls behind skips whole GOPs (`QueuedStreamReader`) and is closed after
/// the configured lag.
final class PlaySession: PlaySink {
    let request: PlayRequest
    let path: StreamPath
    let hub: StreamHub
    let limits: ViewerLimits
    let logger: Logger
    let eventLoop: any EventLoop
    /// Called once when the play ends (the `play_done` hook).
    let onEnded: @Sendable (String) -> Void
    private let state: NIOLoopBoundBox<State>

    final class State {
        var output: (any PlayOutput)?
        var stream: LiveStream
        var reader: QueuedStreamReader?
        var waiter: Int?
        var stopped = false
        /// Whether this player counts against `stream`'s viewers now.
        var counted = true
        var drainScheduled = false
        var dropped = 0
        init(stream: LiveStream) { self.stream = stream }
    }

    /// `stream` is live and the viewer already counted against it (`StreamHub.admitViewer`).
    init(request: PlayRequest, path: StreamPath, stream: LiveStream, hub: StreamHub, limits: ViewerLimits, eventLoop: any EventLoop, logger: Logger,
        onEnded: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.onEnded = onEnded
        self.request = request
        self.path = path
        self.hub = hub
        self.limits = limits
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "stream"] = "\(path)"
        self.logger = logger
        state = .makeBoxSendingValue(State(stream: stream), as: State.self, eventLoop: eventLoop)
    }

    func start(output: any PlayOutput) {
        state.value.output = output
        logger.info("play started")
        read(state.value.stream)
    }

    private func read(_ stream: LiveStream) {
        let state = self.state.value
        state.stream = stream
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let reader = QueuedStreamReader(eventLoop: eventLoop, configuration: limits.readerConfiguration) {
            loopBound.value.drain()
        }
        state.reader = reader
        stream.attach(reader)
    }

    /// Never writes from inside the callback (it can fire in the middle of another write): the drain is queued.
    func writabilityChanged() {
        let state = self.state.value
        guard !state.stopped, !state.drainScheduled, state.output?.isWritable == true else { return }
        state.drainScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            loopBound.value.state.value.drainScheduled = false
            loopBound.value.drain()
        }
    }

    /// Sends what waits while the socket takes it.
    private func drain() {
        let state = self.state.value
        guard !state.stopped, let output = state.output, let reader = state.reader else { return }
        if let reason = reader.closedReason {
            logger.warning("player closed", metadata: ["reason": "\(reason)", "dropped_frames": "\(reader.droppedFrames)"])
            return output.close(reason: reason)
        }
        while output.isWritable, state.reader === reader {
            let events = reader.take()
            if events.isEmpty { break }
            for event in events where event.publish == state.stream.publish { send(event, to: output) }
        }
        output.flush()
    }

    private func send(_ event: StreamEvent, to output: any PlayOutput) {
        let id = request.messageStreamID
        switch event.kind {
        case .packet(let packet):
            output.writeMedia(packet, messageStreamID: id, shared: event.encodings.bytes)
        case .metadata(let body):
            output.send(PlayMessages.data(body, timestamp: 0, messageStreamID: id))
        case .cuePlaced(let cue):
            let body = ScriptData.onCuePoint(name: cue.kind.rawValue, timeMS: cue.timestamp, json: cue.json)
            output.send(PlayMessages.data(body, timestamp: cue.timestamp, messageStreamID: id))
        case .ended(let reason):
            for message in PlayMessages.unpublished(request) { output.send(message) }
            logger.info("publisher gone; player waits for a republish", metadata: ["reason": "\(reason)"])
            waitForRepublish(after: event.publish)
        case .started, .clock:
            break
        }
    }

    private func waitForRepublish(after publish: PublishID) {
        let state = self.state.value
        if let reader = state.reader { state.dropped += reader.droppedFrames }
        state.reader = nil
        if state.counted { hub.releaseViewer(of: state.stream) }
        state.counted = false
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let eventLoop = self.eventLoop
        state.waiter = hub.nextPublish(of: path, after: publish) { stream in
            eventLoop.execute { loopBound.value.republished(stream) }
        }
    }

    private func republished(_ stream: LiveStream) {
        let state = self.state.value
        state.waiter = nil
        guard !state.stopped, let output = state.output else { return }
        if let refusal = hub.admitViewer(to: stream, limits: limits) {
            logger.warning("player closed", metadata: ["reason": "\(refusal)"])
            state.stopped = true
            onEnded(refusal)
            return output.close(reason: refusal)
        }
        state.counted = true
        for message in PlayMessages.republished(request) { output.send(message) }
        logger.info("publisher back; play continues", metadata: ["publish": "\(stream.publish)"])
        read(stream)
        output.flush()
    }

    func stopped(reason: String) {
        let state = self.state.value
        guard !state.stopped else { return }
        state.stopped = true
        if let waiter = state.waiter { hub.cancelWaiting(waiter, for: path) }
        if state.counted { hub.releaseViewer(of: state.stream) }
        state.counted = false
        if let reader = state.reader {
            state.stream.detach(reader)
            state.dropped += reader.droppedFrames
        }
        state.reader = nil
        state.output = nil
        logger.info("play ended", metadata: ["reason": "\(reason)", "dropped_frames": "\(state.dropped)"])
        onEnded(reason)
    }
}

import FLV
import LoopTicks
import Foundation
import Logging
import Media
import NIOCore
import NIOPosix
import NIOSSL
import RTMP
import StreamHub
import NIOConcurrencyHelpers

/// One push target of one stream path: an outgoing RTMP(S) publish that follows the path's publishes, on the
/// publisher's event loop. (After MediaMTX's per-path publishers and SRS's forwarders, with nginx-rtmp's
/// `push` as the peer it must beat.)
///
/// A session lives on one loop. When it is about to connect for a publish on another loop, it hands over to a
/// successor on the publisher's loop (`relocate`, done by `PushService`), which keeps its status and back-off:
/// a frame then reaches the target in the publisher's own pass, where a reader on another loop costs a thread
/// wake-up per frame batch (measured with 10 targets and two loops: about 9 % more CPU for the whole server).
///
/// It connects when the stream goes live, sends `@setDataFrame onMetaData`, the sequence headers and the
/// current GOP (a `QueuedStreamReader` attached at `NetStream.Publish.Start`), then live media, chunked once per
/// chunk size and message stream and shared with RTMP players. A publish that ends keeps the connection for the
/// grace period, so a republish goes on over it; past it the target unpublishes and waits for the next publish.
/// Errors move it to `retrying` (`PushBackoff`), a refused key to `failed`. A target that stops reading falls
/// behind in its own queue, drops whole GOPs and is reconnected past the lag limit; nothing else notices.
public final class PushSession: Sendable {
    public let id: String
    public let path: StreamPath
    public let url: PushURL
    let hub: StreamHub
    let eventLoop: any EventLoop
    let tls: NIOSSLContext?
    let graceSeconds: Double
    let readerConfiguration: QueuedStreamReader.Configuration
    let logger: Logger
    private let status: NIOLockedValueBox<PushStatus>
    let state: NIOLoopBoundBox<State>
    /// Asked to start a successor on the stream's loop; true if it did (this session then ends quietly).
    let relocate: @Sendable (_ from: PushSession, _ stream: LiveStream, _ carried: Carried) -> Bool

    /// What a successor on another loop takes over: the figures and the back-off, so a hand-over is invisible.
    public struct Carried: Sendable {
        var backoff: PushBackoff
        var attempts: Int
        var droppedBefore: Int
        var bytesSent: Int
    }

    /// Why the session closes its own connection, so `closed` knows what comes next.
    enum CloseIntent {
        case none
        case graceOver
        case stopped
        case lagging
        /// A republish within grace changed a codec: the target gets a fresh publish at once.
        case codecChanged
    }

    final class State {
        var stream: LiveStream?
        var reader: QueuedStreamReader?
        var output: (any PlayOutput)?
        var messageStreamID: UInt32 = 1
        var channel: (any Channel)?
        var waiter: Int?
        var grace: Scheduled<Void>?
        var retry: Scheduled<Void>?
        var meter: SecondTicker?
        var backoff = PushBackoff()
        var liveSince: NIODeadline?
        var refused = false
        var intent = CloseIntent.none
        var stopped = false
        /// A connection attempt is under way (before its channel is known).
        var connecting = false
        var drainScheduled = false
        var attempts = 0
        var bytesAtLastSample = 0
        /// Frames dropped by the readers before the current one.
        var droppedBefore = 0
        /// Figures kept on the loop and published to `status` once a second and when the connection ends, so
        /// the media path takes no lock per write.
        var bytesSent = 0
        var lastArrival: NIODeadline?
        /// The codec of each track's last sequence header sent on this connection.
        var codecs: [Track: Codec] = [:]
        init() {}
    }

    public init(
        id: String, name: String, path: StreamPath, url: PushURL, hub: StreamHub, eventLoop: any EventLoop, tls: NIOSSLContext?,
        graceSeconds: Double, readerConfiguration: QueuedStreamReader.Configuration, logger: Logger,
        succeeding predecessor: (PushSession, Carried)? = nil,
        relocate: @escaping @Sendable (_ from: PushSession, _ stream: LiveStream, _ carried: Carried) -> Bool = { _, _, _ in false }
    ) {
        self.id = id
        self.path = path
        self.url = url
        self.hub = hub
        self.eventLoop = eventLoop
        self.tls = tls
        self.graceSeconds = graceSeconds
        self.readerConfiguration = readerConfiguration
        var logger = logger
        logger[metadataKey: "stream"] = "\(path)"
        logger[metadataKey: "push"] = "\(id)"
        logger[metadataKey: "target"] = "\(url.masked)"
        self.logger = logger
        self.relocate = relocate
        status = predecessor?.0.status
            ?? NIOLockedValueBox(PushStatus(id: id, stream: path.description, name: name, url: url.masked, enabled: true))
        let state = State()
        if let carried = predecessor?.1 {
            state.backoff = carried.backoff
            state.attempts = carried.attempts
            state.droppedBefore = carried.droppedBefore
            state.bytesSent = carried.bytesSent
            state.bytesAtLastSample = carried.bytesSent
        }
        self.state = .makeBoxSendingValue(state, as: State.self, eventLoop: eventLoop)
    }

    static let sendBuffer: SocketOptionValue = 1 << 20

    public var currentStatus: PushStatus { status.withLockedValue { $0 } }

    func update(_ change: (inout PushStatus) -> Void) { status.withLockedValue { change(&$0) } }

    // MARK: Life

    /// Starts following the path: connects as soon as it is live.
    public func start() {
        eventLoop.execute { [self] in
            logger.info("push target on")
            waitForPublish(after: nil)
        }
    }

    /// A successor's start: the publish its predecessor saw, at once.
    func takeOver(_ stream: LiveStream) {
        eventLoop.execute { [self] in
            logger.debug("push moved to the publisher's event loop")
            publishStarted(stream)
        }
    }

    /// Switched off or removed: unpublishes politely and stops for good.
    public func stop() {
        eventLoop.execute { [self] in
            let state = self.state.value
            guard !state.stopped else { return }
            state.stopped = true
            if let waiter = state.waiter { hub.cancelWaiting(waiter, for: path) }
            state.grace?.cancel()
            state.retry?.cancel()
            detachReader()
            update { $0.enabled = false; $0.move(to: .disabled); $0.retryAt = nil }
            if let output = state.output {
                state.intent = .stopped
                output.close(reason: "push stopped")
            } else {
                state.channel?.close(promise: nil)
            }
            logger.info("push target stopped")
        }
    }

    func waitForPublish(after previous: PublishID?) {
        let state = self.state.value
        guard !state.stopped else { return }
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let eventLoop = self.eventLoop
        state.waiter = hub.nextPublish(of: path, after: previous) { stream in
            eventLoop.execute { loopBound.value.publishStarted(stream) }
        }
    }

    private func publishStarted(_ stream: LiveStream) {
        let state = self.state.value
        state.waiter = nil
        guard !state.stopped else { return }
        state.stream = stream
        state.grace?.cancel()
        state.grace = nil
        if state.output != nil {
            // A republish within the grace period: the same connection carries it.
            logger.info("publisher back within grace; push goes on", metadata: ["publish": "\(stream.publish)"])
            attachReader()
        } else if state.channel == nil && state.retry == nil && !state.connecting && !handOver(for: stream) {
            connect()
        }
    }

    /// Before a fresh connection for a publish on another loop: a successor there takes over. Only while idle (no
    /// channel, reader, timer or waiter), so nothing of this session is left running.
    private func handOver(for stream: LiveStream) -> Bool {
        let state = self.state.value
        guard stream.eventLoop !== eventLoop, state.channel == nil, state.output == nil, state.reader == nil,
            state.grace == nil, state.retry == nil, state.waiter == nil, !state.connecting
        else { return false }
        let carried = Carried(
            backoff: state.backoff, attempts: state.attempts, droppedBefore: state.droppedBefore, bytesSent: state.bytesSent)
        guard relocate(self, stream, carried) else { return false }
        state.stopped = true
        state.meter?.cancel()
        state.meter = nil
        return true
    }

    // MARK: Connection

    private func connect() {
        let state = self.state.value
        guard !state.stopped, state.channel == nil, !state.connecting else { return }
        state.connecting = true
        state.retry = nil
        state.attempts += 1
        if state.attempts > 1 { update { $0.reconnects += 1 } }
        state.refused = false
        state.intent = .none
        update { $0.move(to: .connecting); $0.retryAt = nil }
        let (url, tls, loopBound) = (self.url, self.tls, NIOLoopBound(self, eventLoop: eventLoop))
        let target = url.clientTarget
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Bounded, so a target that stops reading shows as behind within seconds rather than after the
            // kernel's 4 MB; 1 MB still carries 25 Mbit/s over a 300 ms round trip.
            .channelOption(.socketOption(.so_sndbuf), value: Self.sendBuffer)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let session = loopBound.value
                    if let tls {
                        // SNI and hostname verification by name; an IP literal is checked against the certificate's
                        // IP addresses instead (SNI cannot carry one).
                        let isAddress = (try? SocketAddress(ipAddress: url.host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : url.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(RTMPClientHandler(target: target, delegate: Delegate(session: session)))
                }
            }
            .connect(host: url.host, port: url.port)
            .whenComplete { result in
                let session = loopBound.value
                session.state.value.connecting = false
                switch result {
                case .success(let channel):
                    if session.state.value.stopped {
                        channel.close(promise: nil)
                    } else if channel.isActive {
                        // Not if it closed already: `closed` came first and the next attempt must not see it.
                        session.state.value.channel = channel
                    }
                case .failure(let error):
                    session.failed("connecting to \(url.host):\(url.port): \(ConnectFailure.reason(error))")
                }
            }
    }

    /// The handler's events, on the session's loop (the channel runs on it).
    final class Delegate: RTMPClientDelegate {
        let session: PushSession
        init(session: PushSession) { self.session = session }

        func published(output: any PlayOutput, messageStreamID: UInt32) { session.published(output, messageStreamID: messageStreamID) }
        func refused(code: String, description: String) { session.refused(code: code, description: description) }
        func writabilityChanged() { session.writabilityChanged() }
        func closed(reason: String, error: RTMPError?) { session.closed(reason: reason, error: error) }
    }

    private func published(_ output: any PlayOutput, messageStreamID: UInt32) {
        let state = self.state.value
        state.output = output
        state.messageStreamID = messageStreamID
        state.liveSince = .now()
        update {
            $0.move(to: .live)
            $0.connectedAt = Date()
        }
        logger.info("push live")
        // A new connection's first window counts only its own bytes.
        state.bytesAtLastSample = state.bytesSent
        // On the loop's shared tick, with the publisher's and viewers' checks: one wake-up a second for all.
        state.meter = SecondTicker(on: eventLoop) { [self] tick in sampleBitrate(over: tick.elapsed) }
        if let stream = state.stream, hub.stream(path) === stream {
            attachReader()
        } else {
            // The publish ended while we connected: stay for the grace period, like any other end.
            startGrace()
            if state.waiter == nil { waitForPublish(after: state.stream?.publish) }
        }
    }

    private func refused(code: String, description: String) {
        state.value.refused = true
        let message = "\(code): \(description)"
        update {
            $0.lastError = message
            $0.lastErrorAt = Date()
        }
        logger.error("push refused by the target", metadata: ["code": "\(code)", "description": "\(description)"])
    }

    private func failed(_ reason: String) {
        let state = self.state.value
        state.channel = nil
        update {
            $0.lastError = reason
            $0.lastErrorAt = Date()
        }
        let delay = state.backoff.delayAfterFailure()
        // Not the `failed` state (a refused key): this target is retried on the back-off.
        logger.warning("push attempt failed; retrying", metadata: ["reason": "\(reason)", "retry_in_s": "\(String(format: "%.1f", delay))"])
        scheduleRetry(after: delay)
    }

    private func closed(reason: String, error: RTMPError?) {
        let state = self.state.value
        state.channel = nil
        state.connecting = false
        state.output = nil
        state.meter?.cancel()
        state.meter = nil
        detachReader()
        update { $0.bitsPerSecond = nil }
        if let liveSince = state.liveSince {
            let seconds = Double((NIODeadline.now() - liveSince).nanoseconds) / 1e9
            state.backoff.wasLive(for: seconds)
        }
        state.liveSince = nil
        state.codecs = [:]
        let intent = state.intent
        state.intent = .none
        if state.stopped { return }
        switch intent {
        case .stopped:
            return
        case .graceOver:
            update { $0.move(to: .idle) }
            logger.info("push ended with the publish")
            return
        case .codecChanged:
            connect()
            return
        case .lagging, .none:
            break
        }
        if state.refused {
            update {
                $0.move(to: .failed)
                $0.retryAt = Date().addingTimeInterval(PushBackoff.afterRefusal)
            }
            state.retry = schedule(after: PushBackoff.afterRefusal)
            return
        }
        if intent == .none {
            update {
                $0.lastError = error.map { "\($0)" } ?? reason
                $0.lastErrorAt = Date()
            }
        }
        logger.warning("push connection lost", metadata: ["reason": "\(reason)"])
        scheduleRetry(after: state.backoff.delayAfterFailure())
    }

    private func scheduleRetry(after seconds: Double) {
        let state = self.state.value
        guard !state.stopped else { return }
        update {
            $0.move(to: .retrying)
            $0.retryAt = Date().addingTimeInterval(seconds)
        }
        state.retry = schedule(after: seconds)
    }

    private func schedule(after seconds: Double) -> Scheduled<Void> {
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        return eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            loopBound.value.retryNow()
        }
    }

    private func retryNow() {
        let state = self.state.value
        state.retry = nil
        guard !state.stopped else { return }
        if let stream = state.stream, hub.stream(path) === stream {
            if !handOver(for: stream) { connect() }
        } else {
            update { $0.move(to: .idle); $0.retryAt = nil }
            waitForPublish(after: state.stream?.publish)
        }
    }
}

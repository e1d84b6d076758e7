import FLV
import Foundation
import Logging
import Media
import NIOCore
import NIOPosix
import NIOSSL
import RTMP
import StreamHub
import Synchronization

/// One push target of one stream path: an outgoing RTMP(S) publish that follows the path's publishes, on an
/// event loop of its own. (After MediaMTX's per-path publishers and SRS's forwarders, with nginx-rtmp's
/// `push` as the peer it must beat.)
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
    private let status: Mutex<PushStatus>
    private let state: NIOLoopBoundBox<State>

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
        var meter: RepeatedTask?
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
        /// The codec of each track's last sequence header sent on this connection.
        var codecs: [Track: Codec] = [:]
        init() {}
    }

    public init(
        id: String, name: String, path: StreamPath, url: PushURL, hub: StreamHub, eventLoop: any EventLoop, tls: NIOSSLContext?,
        graceSeconds: Double, readerConfiguration: QueuedStreamReader.Configuration, logger: Logger
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
        status = Mutex(PushStatus(id: id, stream: path.description, name: name, url: url.masked, enabled: true))
        state = .makeBoxSendingValue(State(), as: State.self, eventLoop: eventLoop)
    }

    static let sendBuffer: SocketOptionValue = 1 << 20

    public var currentStatus: PushStatus { status.withLock { $0 } }

    private func update(_ change: (inout PushStatus) -> Void) { status.withLock { change(&$0) } }

    // MARK: Life

    /// Starts following the path: connects as soon as it is live.
    public func start() {
        eventLoop.execute { [self] in
            logger.info("push target on")
            waitForPublish(after: nil)
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
                output.close(reason: "push switched off")
            } else {
                state.channel?.close(promise: nil)
            }
            logger.info("push target off")
        }
    }

    private func waitForPublish(after previous: PublishID?) {
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
        } else if state.channel == nil && state.retry == nil && !state.connecting {
            connect()
        }
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
                    session.failed("connecting to \(url.host):\(url.port): \(error)")
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
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        state.meter = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            loopBound.value.sampleBitrate()
        }
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
        logger.warning("push failed", metadata: ["reason": "\(reason)"])
        scheduleRetry(after: state.backoff.delayAfterFailure())
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
            connect()
        } else {
            update { $0.move(to: .idle); $0.retryAt = nil }
            waitForPublish(after: state.stream?.publish)
        }
    }

    // MARK: Media

    private func attachReader() {
        let state = self.state.value
        guard let stream = state.stream else { return }
        detachReader()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let reader = QueuedStreamReader(eventLoop: eventLoop, configuration: readerConfiguration) {
            loopBound.value.drain()
        }
        state.reader = reader
        stream.attach(reader)
    }

    private func detachReader() {
        let state = self.state.value
        guard let reader = state.reader else { return }
        state.stream?.detach(reader)
        state.droppedBefore += reader.droppedFrames
        let dropped = state.droppedBefore
        update { $0.framesDropped = dropped }
        state.reader = nil
    }

    private func writabilityChanged() {
        let state = self.state.value
        guard !state.drainScheduled, state.output?.isWritable == true else { return }
        state.drainScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            loopBound.value.state.value.drainScheduled = false
            loopBound.value.drain()
        }
    }

    private func drain() {
        let state = self.state.value
        guard let output = state.output, let reader = state.reader else { return }
        if let reason = reader.closedReason {
            logger.warning("push target not keeping up; reconnecting", metadata: ["reason": "\(reason)"])
            update {
                $0.lastError = "target not keeping up: \(reason)"
                $0.lastErrorAt = Date()
            }
            state.intent = .lagging
            return output.close(reason: reason)
        }
        var sent = 0
        var lag: Double?
        while output.isWritable, state.reader === reader {
            let events = reader.take()
            if events.isEmpty { break }
            for event in events where event.publish == state.stream?.publish {
                let (bytes, arrival) = send(event, to: output)
                sent += bytes
                if let arrival {
                    let elapsed = ContinuousClock.now - arrival
                    lag = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                }
            }
        }
        output.flush()
        let dropped = state.droppedBefore + reader.droppedFrames
        update {
            $0.bytesSent += sent
            if let lag { $0.lagSeconds = lag }
            $0.framesDropped = dropped
        }
    }

    /// Sends one event; returns the bytes written and, for a frame, when it arrived at the ingest.
    private func send(_ event: StreamEvent, to output: any PlayOutput) -> (Int, ContinuousClock.Instant?) {
        let id = state.value.messageStreamID
        switch event.kind {
        case .packet(let packet):
            if packet.kind == .sequenceHeader {
                let state = self.state.value
                if let previous = state.codecs[packet.track], previous != packet.codec {
                    logger.info("codec changed on republish; the target gets a fresh publish", metadata: ["track": "\(packet.track)"])
                    state.intent = .codecChanged
                    detachReader()
                    output.close(reason: "codec changed")
                    return (0, nil)
                }
                state.codecs[packet.track] = packet.codec
            }
            let chunkSize = output.chunkSize
            let bytes = event.encodings.bytes(for: chunkSize << 8 | Int(id & 0xFF)) {
                PlayMessages.media(packet, messageStreamID: id).map { ChunkEncoder.chunked($0, chunkSize: chunkSize) }
            }
            guard let bytes else { return (0, nil) }
            output.write(chunked: bytes)
            return (bytes.readableBytes, packet.kind == .frame ? packet.arrival : nil)
        case .metadata(let body):
            // A publisher sends metadata through `@setDataFrame`, which the server stores and hands its players.
            var payload = ByteBuffer()
            payload.writeAMF0(.string("@setDataFrame"))
            var rest = body
            payload.writeBuffer(&rest)
            output.send(PlayMessages.data(payload, timestamp: 0, messageStreamID: id))
            return (payload.readableBytes, nil)
        case .cuePlaced(let cue):
            let body = ScriptData.onCuePoint(name: cue.kind.rawValue, timeMS: cue.timestamp, json: cue.json)
            output.send(PlayMessages.data(body, timestamp: cue.timestamp, messageStreamID: id))
            return (body.readableBytes, nil)
        case .ended(let reason):
            logger.info("publisher gone; push waits the grace period", metadata: ["reason": "\(reason)"])
            detachReader()
            startGrace()
            waitForPublish(after: event.publish)
            return (0, nil)
        case .started, .clock:
            return (0, nil)
        }
    }

    private func startGrace() {
        let state = self.state.value
        state.grace?.cancel()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        state.grace = eventLoop.scheduleTask(in: .milliseconds(Int64(graceSeconds * 1000))) {
            let session = loopBound.value
            let state = session.state.value
            state.grace = nil
            guard let output = state.output, state.reader == nil else { return }
            state.intent = .graceOver
            output.close(reason: "publish ended")
        }
    }

    private func sampleBitrate() {
        let bytes = status.withLock { $0.bytesSent }
        let state = self.state.value
        let delta = bytes - state.bytesAtLastSample
        state.bytesAtLastSample = bytes
        update { $0.bitsPerSecond = Double(delta * 8) }
    }
}

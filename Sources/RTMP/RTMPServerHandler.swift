#if canImport(Glibc)
import Glibc
#endif
import LoopTicks
import NIOCore

/// Drives one RTMP server connection: handshake, chunk decoding, the session state machine, chunk encoding.
///
/// The handler only moves bytes and actions between NIO and the pure cores (`Handshake`, `ChunkDecoder`,
/// `ServerSession`, `ChunkEncoder`); what a publish means is decided by its delegate.
public final class RTMPServerHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingC0C1
        case awaitingC2
        case chunks
        case closed
    }

    private let configuration: RTMPConnectionConfiguration
    private let delegate: any RTMPConnectionDelegate
    private var phase = Phase.awaitingC0C1
    private var handshakeBuffer: ByteBuffer?
    private var session: ServerSession
    private var processor: NIOSingleStepByteToMessageProcessor<ChunkDecoder>
    var encoder = ChunkEncoder()
    private var handshakeTimeout: Scheduled<Void>?
    private var idleCheck: SecondTicker?
    private var lastActivity = NIODeadline.now()
    /// When the bytes being decoded were read: the arrival time of every message in them.
    private var readAt = NIODeadline.now()
    private var sink: (any PublishSink)?
    private var player: (any PlaySink)?
    private var announcedConnect = false
    private var unflushedWrites = false
    private var lowWatermark: ReceiveLowWatermark
    /// Bytes read since the last idle check, about a second ago.
    private var bytesSinceCheck = 0

    public init(configuration: RTMPConnectionConfiguration, delegate: any RTMPConnectionDelegate) {
        self.configuration = configuration
        self.delegate = delegate
        self.session = ServerSession(configuration: configuration.session)
        self.lowWatermark = ReceiveLowWatermark(milliseconds: configuration.gatherMilliseconds)
        self.processor = NIOSingleStepByteToMessageProcessor(
            ChunkDecoder(limits: configuration.chunkLimits),
            // A chunk is never larger than its message, so the message limit bounds what waits unread.
            maximumBufferSize: min(configuration.chunkLimits.maxChunkSize, configuration.chunkLimits.maxMessageSize) + (1 << 20))
    }

    public func channelActive(context: ChannelHandlerContext) {
        let seconds = configuration.handshakeTimeoutSeconds
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handshakeTimeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = loopBound.value
            handler.fail(context: context, error: .handshakeTimeout(seconds: seconds))
        }
        context.fireChannelActive()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        player?.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if phase != .closed {
            phase = .closed
            cancelTimers()
            endPublish(reason: "connection closed by peer")
            endPlay(reason: "connection closed by peer")
            delegate.closed(reason: "peer closed the connection", error: nil)
        }
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        lastActivity = context.eventLoop.now
        readAt = lastActivity
        switch phase {
        case .closed:
            return
        case .awaitingC0C1, .awaitingC2:
            readHandshake(context: context, bytes: &bytes)
        case .chunks:
            readChunks(context: context, bytes: bytes)
        }
    }

    /// `ChannelShouldQuiesceEvent` (the server is shutting down): the client is told, then the connection closes.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        guard phase != .closed else { return }
        guard phase == .chunks else { return close(context: context, reason: "shutdown", error: nil) }
        for action in session.shutDown(reason: "server is shutting down") { perform(action, context: context) }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error: .socketError("\(error)"))
    }

    // MARK: Handshake

    private func readHandshake(context: ChannelHandlerContext, bytes: inout ByteBuffer) {
        if var buffered = handshakeBuffer {
            buffered.writeBuffer(&bytes)
            handshakeBuffer = buffered
        } else {
            handshakeBuffer = bytes
        }
        guard var buffer = handshakeBuffer else { return }

        if phase == .awaitingC0C1 {
            // The version byte alone is enough to reject non-RTMP peers (TLS, HTTP) at once.
            if let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), version != Handshake.version {
                return fail(context: context, error: .unsupportedVersion(version))
            }
            guard let c0c1 = buffer.readSlice(length: 1 + Handshake.packetSize) else { return }
            do {
                let reply = try Handshake.reply(c0c1: c0c1)
                context.writeAndFlush(wrapOutboundOut(reply.bytes), promise: nil)
                delegate.handshakeCompleted(clientKind: reply.clientKind)
            } catch {
                return fail(context: context, error: error)
            }
            phase = .awaitingC2
        }
        guard buffer.readSlice(length: Handshake.packetSize) != nil else {
            handshakeBuffer = buffer
            return
        }
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
        handshakeBuffer = nil
        phase = .chunks
        lastActivity = context.eventLoop.now
        startIdleCheck(context: context)
        if buffer.readableBytes > 0 {
            readChunks(context: context, bytes: buffer)
        }
    }

    // MARK: Chunks

    private func readChunks(context: ChannelHandlerContext, bytes: ByteBuffer) {
        bytesSinceCheck += bytes.readableBytes
        if let ack = session.bytesReceived(bytes.readableBytes, unread: lowWatermark.bytes - 1) {
            perform(ack, context: context)
        }
        do {
            try processor.process(buffer: bytes) { message in
                guard phase == .chunks else { return }
                for action in try session.receive(message) {
                    perform(action, context: context)
                }
            }
        } catch let error as RTMPError {
            fail(context: context, error: error)
        } catch {
            fail(context: context, error: .protocolViolation("\(error)"))
        }
        // Most reads are media and answer nothing; a flush goes through the pipeline, so only when needed.
        if unflushedWrites {
            unflushedWrites = false
            context.flush()
        }
    }

    private func perform(_ action: ServerSession.Action, context: ChannelHandlerContext) {
        switch action {
        case .send(let message):
            var out = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 32)
            encoder.encode(message, into: &out)
            context.write(wrapOutboundOut(out), promise: nil)
            unflushedWrites = true
        case .authorize(let request):
            authorize(request, context: context)
        case .media(var packet):
            packet.arrival = readAt
            sink?.received(packet)
        case .metadata(let metadata, let values):
            sink?.received(metadata, values: values)
        case .cue(let cue):
            sink?.received(cue)
        case .unpublished(let reason):
            endPublish(reason: reason)
        case .authorizePlay(let request):
            authorizePlay(request, context: context)
        case .stoppedPlaying(let reason):
            endPlay(reason: reason)
        case .ignored(let typeID, let reason):
            delegate.ignored(typeID: typeID, reason: reason)
        case .dropped(let typeID, let reason):
            delegate.dropped(typeID: typeID, reason: reason)
            sink?.dropped(typeID: typeID, reason: reason)
        case .close(let reason):
            context.flush()
            close(context: context, reason: reason, error: nil)
        }
        if case .connected = session.state, case .send = action, let app = session.app, !announcedConnect {
            announcedConnect = true
            delegate.connected(app: app, tcURL: session.tcURL, flashVersion: session.flashVersion)
        }
    }

    private func endPublish(reason: String) {
        sink?.ended(reason: reason)
        sink = nil
    }

    private func endPlay(reason: String) {
        player?.stopped(reason: reason)
        player = nil
    }

    private func authorizePlay(_ request: PlayRequest, context: ChannelHandlerContext) {
        let delegate = self.delegate
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await delegate.authorizePlay(request)
        }.whenSuccess { result in
            let (handler, context) = loopBound.value
            guard handler.phase == .chunks else {
                if case .success(let player) = result { player.stopped(reason: "connection closed before play started") }
                return
            }
            switch result {
            case .success(let player):
                for action in handler.session.playAuthorized() { handler.perform(action, context: context) }
                handler.player = player
                player.start(output: ChannelPlayOutput(host: handler, context: context))
            case .failure(let refusal):
                for action in handler.session.playRefused(refusal) { handler.perform(action, context: context) }
            }
            handler.unflushedWrites = false
            context.flush()
        }
    }

    private func authorize(_ request: PublishRequest, context: ChannelHandlerContext) {
        let delegate = self.delegate
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await delegate.authorize(request)
        }.whenSuccess { result in
            let (handler, context) = loopBound.value
            guard handler.phase == .chunks else {
                // The client left while we decided: give the stream back at once.
                if case .success(let sink) = result { sink.ended(reason: "connection closed before publish started") }
                return
            }
            let actions: [ServerSession.Action]
            switch result {
            case .success(let sink):
                handler.sink = sink
                actions = handler.session.publishAuthorized()
            case .failure(let refusal):
                actions = handler.session.publishRefused(refusal)
            }
            for action in actions { handler.perform(action, context: context) }
            handler.unflushedWrites = false
            context.flush()
        }
    }

    // MARK: Timeouts and closing

    private func startIdleCheck(context: ChannelHandlerContext) {
        let limit = configuration.idleTimeoutSeconds
        // On the loop's shared tick: a loop of many connections wakes once a second for all their checks.
        idleCheck = SecondTicker(on: context.eventLoop) { [self] tick in
            if context.eventLoop.now - lastActivity > .seconds(limit) {
                fail(context: context, error: .idleTimeout(seconds: limit))
                return
            }
            adjustLowWatermark(context: context, over: tick.elapsed)
        }
    }

    /// Once a second while publishing: lets the kernel gather `gatherMilliseconds` of the stream per wake-up.
    private func adjustLowWatermark(context: ChannelHandlerContext, over elapsed: TimeAmount) {
        defer { bytesSinceCheck = 0 }
        let perSecond = sink == nil || elapsed.nanoseconds <= 0 ? 0 : Int(Int64(bytesSinceCheck) * 1_000_000_000 / elapsed.nanoseconds)
        guard sink != nil || lowWatermark.bytes > 1,
            let mark = lowWatermark.update(bytesInLastSecond: perSecond, windowSize: session.acknowledgementWindowSize)
        else { return }
        // Not every channel is a TCP socket (tests use embedded ones): there the option is simply not set.
        _ = context.channel.setOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_RCVLOWAT)), value: SocketOptionValue(mark))
    }

    private func cancelTimers() {
        handshakeTimeout?.cancel()
        handshakeTimeout = nil
        idleCheck?.cancel()
        idleCheck = nil
    }

    private func fail(context: ChannelHandlerContext, error: RTMPError) {
        close(context: context, reason: error.description, error: error)
    }

    private func close(context: ChannelHandlerContext, reason: String, error: RTMPError?) {
        guard phase != .closed else { return }
        phase = .closed
        cancelTimers()
        endPublish(reason: reason)
        endPlay(reason: reason)
        delegate.closed(reason: reason, error: error)
        context.close(promise: nil)
    }
}

extension RTMPServerHandler: PlayOutputHost {
    var carriesChunks: Bool { phase == .chunks }
    func wroteOutput(context: ChannelHandlerContext) { lastActivity = context.eventLoop.now }
    func closeOutput(context: ChannelHandlerContext, reason: String) { close(context: context, reason: reason, error: nil) }
}

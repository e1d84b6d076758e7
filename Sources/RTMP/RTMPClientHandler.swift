import NIOCore

/// What an outgoing RTMP publish reports to its owner (a push). Called on the connection's event loop.
public protocol RTMPClientDelegate: AnyObject {
    /// The server said `NetStream.Publish.Start`: media goes to `output` from now on, on `messageStreamID`.
    func published(output: any PlayOutput, messageStreamID: UInt32)
    /// The server refused the publish (`code` as sent); the connection closes next.
    func refused(code: String, description: String)
    /// The connection can take more (or less) now.
    func writabilityChanged()
    /// The connection is gone; `error` is nil for an orderly close.
    func closed(reason: String, error: RTMPError?)
}

/// Drives one outgoing RTMP connection: the client handshake, chunk decoding of the server's messages,
/// `ClientSession`, chunk encoding. Thin, like `RTMPServerHandler`: the cores decide, it moves bytes.
public final class RTMPClientHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingS0S1S2
        case chunks
        case closed
    }

    private let delegate: any RTMPClientDelegate
    private var phase = Phase.awaitingS0S1S2
    private var handshakeBuffer: ByteBuffer?
    private var session: ClientSession
    private var processor: NIOSingleStepByteToMessageProcessor<ChunkDecoder>
    var encoder = ChunkEncoder()
    private var timeout: Scheduled<Void>?
    private let timeoutSeconds: Int64
    private var unflushedWrites = false

    /// `timeoutSeconds` bounds the handshake and the command exchange up to `NetStream.Publish.Start`.
    public init(target: ClientSession.Target, limits: ChunkLimits = ChunkLimits(), timeoutSeconds: Int64 = 10, delegate: any RTMPClientDelegate) {
        self.session = ClientSession(target: target)
        self.delegate = delegate
        self.timeoutSeconds = timeoutSeconds
        self.processor = NIOSingleStepByteToMessageProcessor(
            ChunkDecoder(limits: limits), maximumBufferSize: min(limits.maxChunkSize, limits.maxMessageSize) + (1 << 20))
    }

    public func channelActive(context: ChannelHandlerContext) {
        let seconds = timeoutSeconds
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .seconds(seconds)) {
            let (handler, context) = loopBound.value
            handler.close(context: context, reason: "no NetStream.Publish.Start within \(seconds) s", error: .handshakeTimeout(seconds: seconds))
        }
        context.writeAndFlush(wrapOutboundOut(Handshake.clientHello()), promise: nil)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch phase {
        case .awaitingS0S1S2:
            if var buffered = handshakeBuffer {
                buffered.writeBuffer(&bytes)
                bytes = buffered
            }
            guard bytes.readableBytes >= 1 + 2 * Handshake.packetSize else {
                handshakeBuffer = bytes
                return
            }
            handshakeBuffer = nil
            do {
                let c2 = try Handshake.clientAnswer(s0s1s2: bytes.readSlice(length: 1 + 2 * Handshake.packetSize)!)
                context.write(wrapOutboundOut(c2), promise: nil)
            } catch {
                return close(context: context, reason: error.description, error: error)
            }
            phase = .chunks
            for action in session.start() { perform(action, context: context) }
            if bytes.readableBytes > 0 { readChunks(context: context, bytes: bytes) }
            flushIfNeeded(context: context)
        case .chunks:
            readChunks(context: context, bytes: bytes)
            flushIfNeeded(context: context)
        case .closed:
            return
        }
    }

    private func readChunks(context: ChannelHandlerContext, bytes: ByteBuffer) {
        if let ack = session.bytesReceived(bytes.readableBytes) { perform(ack, context: context) }
        do {
            try processor.process(buffer: bytes) { message in
                guard phase == .chunks else { return }
                for action in try session.receive(message) { perform(action, context: context) }
            }
        } catch let error as RTMPError {
            close(context: context, reason: error.description, error: error)
        } catch {
            close(context: context, reason: "\(error)", error: .protocolViolation("\(error)"))
        }
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard unflushedWrites, phase != .closed else { return }
        unflushedWrites = false
        context.flush()
    }

    private func perform(_ action: ClientSession.Action, context: ChannelHandlerContext) {
        switch action {
        case .send(let message):
            var out = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 32)
            encoder.encode(message, into: &out)
            context.write(wrapOutboundOut(out), promise: nil)
            unflushedWrites = true
        case .published(let id):
            timeout?.cancel()
            timeout = nil
            delegate.published(output: ChannelPlayOutput(host: self, context: context), messageStreamID: id)
        case .refused(let code, let description):
            delegate.refused(code: code, description: description)
            close(context: context, reason: "publish refused: \(code) \(description)", error: nil)
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if phase == .chunks { delegate.writabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if phase == .chunks, case .publishing = session.state {
            // nginx-rtmp (an `on_publish` hook saying no) and others refuse a key by closing, without a status.
            delegate.refused(code: "NetStream.Publish.Rejected", description: "the server closed the connection in answer to publish")
        }
        close(context: context, reason: "the server closed the connection", error: .socketError("connection closed by the server"))
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context, reason: "\(error)", error: .socketError("\(error)"))
    }

    /// Ends the publish politely (`FCUnpublish`, `deleteStream`) and closes.
    public func finish(context: ChannelHandlerContext, reason: String) {
        guard phase == .chunks else { return close(context: context, reason: reason, error: nil) }
        for message in session.unpublish() { perform(.send(message), context: context) }
        flushIfNeeded(context: context)
        close(context: context, reason: reason, error: nil)
    }

    private func close(context: ChannelHandlerContext, reason: String, error: RTMPError?) {
        guard phase != .closed else { return }
        phase = .closed
        timeout?.cancel()
        timeout = nil
        delegate.closed(reason: reason, error: error)
        context.close(promise: nil)
    }
}

extension RTMPClientHandler: PlayOutputHost {
    var carriesChunks: Bool { phase == .chunks }
    func wroteOutput(context: ChannelHandlerContext) {}
    func closeOutput(context: ChannelHandlerContext, reason: String) { finish(context: context, reason: reason) }
}

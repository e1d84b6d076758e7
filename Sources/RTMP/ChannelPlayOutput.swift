import NIOCore

/// The handler behind a `ChannelPlayOutput`: the server's for a player, the client's for a push.
protocol PlayOutputHost: AnyObject {
    /// True while the connection carries chunks: after the handshake, before the close.
    var carriesChunks: Bool { get }
    /// The connection's outgoing chunk state (chunk size, the previous header of each chunk stream).
    var encoder: ChunkEncoder { get set }
    /// Called with each write: a player sends little back, so what it is sent keeps it from counting as idle.
    func wroteOutput(context: ChannelHandlerContext)
    /// Ends the connection for the feed (a reader too far behind, a publish over).
    func closeOutput(context: ChannelHandlerContext, reason: String)
}

/// One RTMP connection as a feed writes to it, a player's or a push's: messages are chunked with the handler's
/// encoder and written on its channel. Used on the channel's event loop only; writes after the close are ignored.
final class ChannelPlayOutput<Host: PlayOutputHost>: PlayOutput {
    unowned let host: Host
    let context: ChannelHandlerContext

    init(host: Host, context: ChannelHandlerContext) {
        self.host = host
        self.context = context
    }

    var isWritable: Bool { host.carriesChunks && context.channel.isWritable }
    var chunkSize: Int { host.encoder.chunkSize }

    func send(_ message: RTMPMessage) {
        guard host.carriesChunks else { return }
        var out = context.channel.allocator.buffer(capacity: message.payload.readableBytes + 32)
        host.encoder.encode(message, into: &out)
        write(chunked: out)
    }

    func write(chunked bytes: ByteBuffer) {
        guard host.carriesChunks else { return }
        host.wroteOutput(context: context)
        context.write(NIOAny(bytes), promise: nil)
    }

    func flush() {
        guard host.carriesChunks else { return }
        context.flush()
    }

    func close(reason: String) {
        host.closeOutput(context: context, reason: reason)
    }
}

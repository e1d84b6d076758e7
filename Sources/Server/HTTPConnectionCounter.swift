import NIOCore
import Synchronization

/// Open HTTP connections, server-wide.
public final class HTTPConnections: Sendable {
    let open = Atomic<Int>(0)

    public init() {}

    public var count: Int { open.load(ordering: .relaxed) }

    /// A handler for each new connection's pipeline: it counts while it is in the pipeline, which is as long as
    /// the connection lives.
    func handler() -> HTTPConnectionCounter { HTTPConnectionCounter(connections: self) }
}

final class HTTPConnectionCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let connections: HTTPConnections
    private var counted = false

    init(connections: HTTPConnections) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        connections.open.add(1, ordering: .relaxed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard counted else { return }
        counted = false
        connections.open.subtract(1, ordering: .relaxed)
    }
}

import Logging
import NIOCore
import NIOHTTPTypesHTTP1

/// Puts `BackPressureHandler` and `HLSDeliveryHandler` into a new connection's pipeline just before
/// Hummingbird's `HTTP1ToHTTPServerCodec`, then leaves. Hummingbird only adds handlers after that codec, which
/// would convert every request to HTTPTypes and every answer back (about 15 % of the server's own cycles in a
/// profile of segment requests).
final class HLSPipelineInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let handlers: [any ChannelHandler]
    private let logger: Logger

    init(handlers: [any ChannelHandler], logger: Logger) {
        self.handlers = handlers
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        do {
            let codec = try pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self)
            try pipeline.addHandlers(handlers, position: .before(codec.handler))
        } catch {
            // Not Hummingbird's HTTP/1 pipeline: HLS goes through the router, still paced by the client.
            logger.warning("HLS pipeline handlers not installed: \(error)")
            try? pipeline.addHandler(BackPressureHandler(), position: .after(self))
        }
        pipeline.removeHandler(context: context, promise: nil)
    }
}

extension HLSRoutes {
    /// Handlers for each new HTTP connection's pipeline: HLS answered in place, and reading paused while the
    /// client is not taking what it was sent. `serverName` is the router's `Server` header; `sendfile` is false
    /// under TLS, where segments must go through the TLS handler as bytes.
    public func pipelineHandlers(serverName: String, sendfile: Bool = true, logger: Logger) -> [any RemovableChannelHandler] {
        let delivery = HLSDeliveryHandler(responder: responder, sendfile: sendfile, serverName: serverName, logger: logger)
        var handlers: [any ChannelHandler] = [BackPressureHandler()]
        if let flv { handlers.append(FLVDeliveryHandler(delivery: flv, corsOrigin: corsOrigin, serverName: serverName)) }
        return [HLSPipelineInstaller(handlers: handlers + [delivery], logger: logger)]
    }
}

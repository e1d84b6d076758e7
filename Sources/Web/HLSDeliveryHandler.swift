#if canImport(Glibc)
import Glibc
#endif
import HLS
import HTTPTypes
import Logging
import Media
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Answers HLS playlist and segment requests inside the connection's HTTP pipeline, on its event loop.
///
/// Viewers poll playlists and fetch segments many times a second per stream, and the answer is bytes already
/// in memory. Going through the router costs a hop to Swift concurrency and back for each request; answering
/// here costs none (measured: playlist requests/s in `BENCHMARKS.md`). Anything else, any error, and any request
/// that must wait its turn behind one the router is still answering, goes on to the router unchanged, so the
/// answers keep request order and errors look the same everywhere.
///
/// Segments go out as `FileRegion`s (`sendfile(2)`), which only NIO's own HTTP/1 encoder takes: the body is
/// written from the context of the codec that turns HTTPTypes parts into NIO's, so it enters the pipeline
/// just below it, after the head that went through it.
final class HLSDeliveryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let responder: HLSResponder
    private let corsOrigin: String
    private let serverName: String
    private let logger: Logger
    private var address: String?
    /// Requests handed to the router whose responses have not ended.
    private var routed = 0
    private var viewerName: (userAgent: String?, name: String)?
    /// The answer to the request being read, sent once its end arrives.
    private var answer: HLSReply?
    /// Where file bodies enter the pipeline; nil if the codec is not there (then they are copied into memory).
    private var codec: ChannelHandlerContext?
    private static let cork = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_CORK))

    init(responder: HLSResponder, corsOrigin: String, serverName: String, logger: Logger) {
        self.responder = responder
        self.corsOrigin = corsOrigin
        self.serverName = serverName
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        address = context.channel.remoteAddress?.ipAddress
        codec = try? context.pipeline.syncOperations.context(handlerType: HTTP1ToHTTPServerCodec.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        codec = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if routed == 0, let reply = reply(to: request) {
                answer = reply
                return
            }
            routed += 1
            context.fireChannelRead(data)
        case .body:
            if answer == nil { context.fireChannelRead(data) }
        case .end:
            guard let reply = answer else { return context.fireChannelRead(data) }
            answer = nil
            send(reply, context: context)
        }
    }

    private func send(_ reply: HLSReply, context: ChannelHandlerContext) {
        var reply = reply
        var file: (region: FileRegion, handle: NIOFileHandle)?
        if case .file(let segment, let range) = reply.body {
            do {
                if codec != nil {
                    let handle = try segment.openHandle()
                    file = (FileRegion(fileHandle: handle, readerIndex: range.lowerBound, endIndex: range.upperBound), handle)
                } else {
                    reply.body = .bytes(try segment.read(range))
                }
            } catch {
                logger.error("could not send segment: \(error)")
                reply = HLSReply(status: .internalServerError, headers: [.contentLength: "0", .server: serverName])
            }
        }
        // Corked while a segment goes out (nginx's tcp_nopush): the head leaves in the body's packets instead of
        // a small packet of its own (measured: about 15 % more segment throughput, less CPU per GB).
        if file != nil { _ = context.channel.setOption(Self.cork, value: 1) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: reply.status, headerFields: reply.headers))), promise: nil)
        if let (region, handle) = file, let codec {
            let written = context.eventLoop.makePromise(of: Void.self)
            // The handle is this write's own; it closes when the write is done or has failed.
            let channel = context.channel
            written.futureResult.whenComplete { _ in
                try? handle.close()
                _ = channel.setOption(Self.cork, value: 0)
            }
            codec.write(NIOAny(HTTPServerResponsePart.body(.fileRegion(region))), promise: written)
        } else if case .bytes(let bytes) = reply.body {
            context.write(wrapOutboundOut(.body(bytes)), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routed = max(0, routed - 1) }
        context.write(data, promise: promise)
    }

    /// The answer when this handler can give it: a GET or HEAD of an existing playlist or segment.
    private func reply(to request: HTTPRequest) -> HLSReply? {
        guard request.method == .get || request.method == .head, let target = request.path, target.utf8.starts(with: "/hls/".utf8) else {
            return nil
        }
        let headers = request.headerFields
        if let connection = headers[.connection], connection.lowercased() == "close" { return nil }
        let pathPart = target.utf8.prefix { $0 != UInt8(ascii: "?") }
        // Percent-encoded paths go to the router, which decodes them and refuses what they hide.
        guard !pathPart.contains(UInt8(ascii: "%")) else { return nil }
        let components = pathPart.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard components.count == 5,
            let path = StreamPath(app: String(Substring(components[2])), name: String(Substring(components[3]))),
            let file = HLSResponder.File(Substring(components[4]))
        else { return nil }
        guard
            var reply = try? responder.reply(
                isHead: request.method == .head, path: path, file: file, headers: headers, viewer: viewer(userAgent: headers[.userAgent]))
        else { return nil }
        // What the router's CORS middleware adds to a simple request.
        if headers[.origin] != nil {
            reply.headers[.accessControlAllowOrigin] = corsOrigin
            if corsOrigin != "*" { reply.headers[values: .vary].append("Origin") }
        }
        reply.headers[.server] = serverName
        logger.debug("HLS request", metadata: ["method": "\(request.method)", "path": "\(target)", "status": "\(reply.status.code)"])
        return reply
    }

    /// The viewer count's name for this client; a connection keeps its address and, nearly always, its agent.
    private func viewer(userAgent: String?) -> String {
        if let viewerName, viewerName.userAgent == userAgent { return viewerName.name }
        let name = HLSResponder.viewer(address: address, userAgent: userAgent)
        viewerName = (userAgent, name)
        return name
    }
}

extension HLSRoutes {
    /// Handlers for each new HTTP connection's pipeline: HLS answered in place, and reading paused while the
    /// client is not taking what it was sent. `serverName` is the router's `Server` header.
    public func pipelineHandlers(serverName: String, logger: Logger) -> [any RemovableChannelHandler] {
        [BackPressureHandler(), HLSDeliveryHandler(responder: responder, corsOrigin: corsOrigin, serverName: serverName, logger: logger)]
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HLS
import Logging
import Media
import NIOCore
import NIOHTTP1
import PlaybackSigning

/// Answers HLS playlist and segment requests inside the connection's HTTP pipeline, on its event loop.
///
/// Viewers poll playlists and fetch segments many times a second per stream, and the answer is bytes already
/// in memory. Going through the router costs a hop to Swift concurrency and back for each request; answering
/// here costs none (measured: playlist requests/s in `BENCHMARKS.md`). Blocking reloads are held here too, until
/// their part lands (`Held`). Anything else, any error found on arrival, and any request that must wait its turn
/// behind one the router is still answering, goes on to the router unchanged, so the answers keep request order
/// and errors look the same everywhere.
///
/// It sits below Hummingbird's codec between NIO's HTTP/1 parts and HTTPTypes (see `HLSPipelineInstaller`), so
/// the requests it answers are never converted, and a segment goes out as a `FileRegion` (`sendfile(2)`), which
/// only NIO's own HTTP/1 encoder takes. Under TLS (HTTPS) bytes must pass through the TLS handler, so segments are
/// read into memory instead (`sendfile: false`).
final class HLSDeliveryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let responder: HLSResponder
    private let sendfile: Bool
    private let serverName: String
    let logger: Logger
    private var address: String?
    /// Requests handed to the router whose responses have not ended.
    private var routed = 0
    /// For each request handed to the router whose response head has not gone out: whether it is an HTTP/1.0
    /// keep-alive request, whose answer must say `Connection: keep-alive` or the client waits for a close. The
    /// router never sees the HTTP version.
    private var routedKeepAlive10 = CircularBuffer<Bool>()
    private var viewerName: (userAgent: String?, name: String)?
    /// The answer to the request being read, sent once its end arrives.
    private var answer: HLSReply?
    /// The writability the handlers after this one were last told. A segment written here makes the channel
    /// unwritable and writable again on every request (its size passes the high water mark); only the router's
    /// response writer, after this handler, cares, and only while it has a response to write.
    private var writableDownstream = true
    /// Whether a request part went on to the router since the last read completed. If none did, the end of the
    /// read is news to nothing after this handler, and passing it on costs a walk through all of them.
    private var forwardedRead = false
    /// What waits for the client to take the answer in flight, in request order. One read can hold hundreds of
    /// pipelined requests; answered at once, each segment would hold a descriptor until the client read it.
    var waiting = CircularBuffer<Waiting>()
    private var draining = false
    /// Segment writes handed to the socket and not yet done.
    private var filesInFlight = 0
    /// The server's shutdown notice, held here while an answer of this handler is still going out: the router
    /// behind it never saw those requests and would close the connection in the middle of a segment.
    private var heldQuiesce = false

    enum Waiting {
        case answer(HLSReply)
        /// A request part for the router, behind answers given here.
        case part(NIOAny)
        /// The place of the blocking reload held here (`held`): what comes after waits for its answer.
        case held
    }

    /// The blocking reload held here, if any (`HLSDeliveryHandler+Held.swift`).
    var held: Held?
    var heldCount = 0
    /// Whether the request being read is the held one: its body and end stop here.
    private var readingHeld = false

    private static let cork = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_CORK))

    init(responder: HLSResponder, sendfile: Bool, serverName: String, logger: Logger) {
        self.responder = responder
        self.sendfile = sendfile
        self.serverName = serverName
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        address = context.channel.remoteAddress?.ipAddress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var request):
            if routed == 0, held == nil, let decision = decide(request) {
                switch decision {
                case .answer(let reply):
                    answer = reply
                case .hold(let request):
                    held = request
                    readingHeld = true
                    waiting.append(.held)
                    park(context: context)
                }
                return
            }
            routed += 1
            routedKeepAlive10.append(request.version == .http1_0 && request.isKeepAlive)
            if !request.isKeepAlive && request.headers["connection"] != ["close"] {
                // The router closes the connection after a request whose Connection is exactly `close`, and never
                // sees the HTTP version: an HTTP/1.0 request without keep-alive would leave it open.
                request.headers.replaceOrAdd(name: "connection", value: "close")
                return pass(wrapInboundOut(.head(request)), context: context)
            }
            pass(data, context: context)
        case .body:
            if answer == nil && !readingHeld { pass(data, context: context) }
        case .end:
            if readingHeld { return readingHeld = false }
            guard let reply = answer else { return pass(data, context: context) }
            answer = nil
            if waiting.isEmpty && context.channel.isWritable {
                send(reply, context: context)
                releaseQuiesceIfIdle(context: context)
            } else {
                waiting.append(.answer(reply))
            }
        }
    }

    /// Hands a request part to the router, after the answers waiting before it.
    private func pass(_ data: NIOAny, context: ChannelHandlerContext) {
        if waiting.isEmpty {
            forward(data, context: context)
        } else {
            waiting.append(.part(data))
        }
    }

    private func forward(_ data: NIOAny, context: ChannelHandlerContext) {
        if writableDownstream != context.channel.isWritable { forwardWritability(context: context) }
        forwardedRead = true
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard forwardedRead else { return }
        forwardedRead = false
        context.fireChannelReadComplete()
    }

    /// Sends waiting answers while the client takes them, and hands on the router's requests behind them.
    func drain(context: ChannelHandlerContext) {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        loop: while let next = waiting.first {
            switch next {
            case .answer(let reply):
                guard context.channel.isWritable else { break loop }
                waiting.removeFirst()
                send(reply, context: context)
            case .part(let data):
                waiting.removeFirst()
                forward(data, context: context)
            case .held:
                break loop
            }
        }
        // The read that brought these parts has completed already.
        if forwardedRead {
            forwardedRead = false
            context.fireChannelReadComplete()
        }
        releaseQuiesceIfIdle(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting.removeAll()
        held = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, busy else { return context.fireUserInboundEventTriggered(event) }
        heldQuiesce = true
    }

    /// Whether an answer of this handler is being read, waits, or is being written.
    private var busy: Bool { answer != nil || !waiting.isEmpty || filesInFlight > 0 }

    /// Passes a held shutdown notice on once this handler's answers are all out.
    private func releaseQuiesceIfIdle(context: ChannelHandlerContext) {
        guard heldQuiesce, !busy else { return }
        heldQuiesce = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    private func send(_ reply: HLSReply, context: ChannelHandlerContext) {
        var reply = reply
        var file: (region: FileRegion, handle: NIOFileHandle)?
        if case .file(let segment, let range) = reply.body, !sendfile {
            do {
                reply.body = .bytes(try segment.read(range))
            } catch {
                logger.error("could not send segment: \(error)")
                reply = serverError()
            }
        } else if case .file(let segment, let range) = reply.body {
            do {
                let handle = try segment.openHandle()
                file = (FileRegion(fileHandle: handle, readerIndex: range.lowerBound, endIndex: range.upperBound), handle)
            } catch {
                logger.error("could not send segment: \(error)")
                reply = serverError()
            }
        }
        // Corked while a segment goes out (nginx's tcp_nopush): the head leaves in the body's packets instead of
        // a small packet of its own (measured: about 15 % more segment throughput, less CPU per GB).
        if file != nil { Self.setCork(true, on: context.channel) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: reply.status, headers: reply.headers))), promise: nil)
        if let (region, handle) = file {
            let written = context.eventLoop.makePromise(of: Void.self)
            // The handle is this write's own; it closes when the write is done or has failed.
            let channel = context.channel
            filesInFlight += 1
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                try? handle.close()
                Self.setCork(false, on: channel)
                let (handler, context) = loopBound.value
                handler.filesInFlight -= 1
                handler.releaseQuiesceIfIdle(context: context)
            }
            context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: written)
        } else if case .bytes(let bytes) = reply.body {
            context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private static func setCork(_ on: Bool, on channel: any Channel) {
        // Synchronously where the channel allows it: a future per call showed in the per-request profile.
        if let options = channel.syncOptions {
            try? options.setOption(cork, value: on ? 1 : 0)
        } else {
            _ = channel.setOption(cork, value: on ? 1 : 0)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        // Held back only while nothing after this handler has a response to write.
        if writable != writableDownstream && (routed > 0 || writable) { forwardWritability(context: context) }
        if writable { drain(context: context) }
    }

    private func forwardWritability(context: ChannelHandlerContext) {
        writableDownstream = context.channel.isWritable
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            if routedKeepAlive10.popFirst() == true {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
                return context.write(wrapOutboundOut(.head(head)), promise: promise)
            }
        case .end:
            routed = max(0, routed - 1)
        default:
            break
        }
        context.write(data, promise: promise)
    }

    /// What this handler does with a request: answers a keep-alive GET or HEAD of an existing playlist or segment,
    /// holds a blocking reload; nil: the router's.
    private func decide(_ request: HTTPRequestHead) -> Decision? {
        guard request.method == .GET || request.method == .HEAD, request.uri.utf8.starts(with: "/hls/".utf8) else {
            return nil
        }
        // The router closes connections.
        guard request.isKeepAlive else { return nil }
        let headers = request.headers
        let pathPart = request.uri.utf8.prefix { $0 != UInt8(ascii: "?") }
        // Percent-encoded paths go to the router, which decodes them and refuses what they hide.
        guard !pathPart.contains(UInt8(ascii: "%")) else { return nil }
        let components = pathPart.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard components.count == 5,
            let path = StreamPath(app: String(Substring(components[2])), name: String(Substring(components[3]))),
            let file = HLSResponder.File(Substring(components[4]))
        else { return nil }
        if case .lowLatencyPlaylist = file, let mark = request.uri.firstIndex(of: "?") {
            return blockingReload(request, path: path, query: request.uri[request.uri.index(after: mark)...])
        }
        guard
            var reply = try? responder.reply(
                isHead: request.method == .HEAD, path: path, file: file,
                conditions: HLSResponder.Conditions(
                    ifNoneMatch: headers.first(name: "if-none-match"), range: headers.first(name: "range"), token: token(in: request.uri)),
                viewer: viewer(userAgent: headers.first(name: "user-agent")))
        else { return nil }
        stamp(&reply, http10: request.version == .http1_0)
        logger.debug("HLS request", metadata: ["method": "\(request.method)", "path": "\(request.uri)", "status": "\(reply.status.code)"])
        return .answer(reply)
    }

    /// The answer when a segment that was listed cannot be read.
    private func serverError() -> HLSReply {
        HLSReply(status: .internalServerError, headers: ["Content-Length": "0", "Date": HTTPDateHeader.shared.value(), "Server": serverName])
    }

    /// What every answer given here carries: `Date` and `Server`, as the router's answers do, and for an HTTP/1.0
    /// keep-alive request `Connection: keep-alive`, or the client waits for a close.
    func stamp(_ reply: inout HLSReply, http10: Bool) {
        reply.headers.add(name: "Date", value: HTTPDateHeader.shared.value())
        reply.headers.add(name: "Server", value: serverName)
        if http10 { reply.headers.add(name: "Connection", value: "keep-alive") }
    }

    /// `?token=` of a signed playback URL; only read when signing is on (a query is otherwise ignored here).
    private func token(in uri: String) -> String? {
        guard responder.signer != nil, let mark = uri.firstIndex(of: "?") else { return nil }
        return PlaybackSigner.token(inQuery: uri[uri.index(after: mark)...])
    }

    /// The viewer count's name for this client; a connection keeps its address and, nearly always, its agent.
    func viewer(userAgent: String?) -> String {
        if let viewerName, viewerName.userAgent == userAgent { return viewerName.name }
        let name = HLSResponder.viewer(address: address, userAgent: userAgent)
        viewerName = (userAgent, name)
        return name
    }
}

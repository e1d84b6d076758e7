import FLV
import Foundation
import Hooks
import Logging
import Media
import PlaybackSigning
import NIOCore
import NIOHTTP1
import StreamHub

/// What HTTP-FLV needs from the server: the live streams, the viewer limits, a logger.
public struct FLVDelivery: Sendable {
    let hub: StreamHub
    let limits: ViewerLimits
    let logger: Logger
    /// Asked before a viewer starts (`play`), told when it leaves (`play_done`).
    let hooks: HookClient?
    /// Signed playback: a signed app's viewers need `?token=`.
    let signer: PlaybackSigner?

    public init(hub: StreamHub, limits: ViewerLimits, logger: Logger, hooks: HookClient? = nil, signer: PlaybackSigner? = nil) {
        self.hooks = hooks
        self.signer = signer
        self.hub = hub
        self.limits = limits
        self.logger = logger
    }

    /// Format key of an FLV tag in `SharedEncodings` (RTMP chunkings use positive keys).
    static let encodingKey = -1

    /// `/<app>/<stream>.flv` (a query string is allowed and ignored), the URL shape SRS and nginx-http-flv use.
    static func streamPath(uri: String) -> StreamPath? {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path.hasSuffix(".flv") else { return nil }
        let parts = path.dropLast(4).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty else { return nil }
        return StreamPath(app: String(parts[1]), name: String(parts[2]))
    }
}

/// Serves `GET /<app>/<stream>.flv`: the live stream as an FLV file that never ends while the publish lasts
/// (FLV header, `onMetaData`, sequence headers and the current GOP at once, then live tags), chunked, from a
/// queued reader on this connection's event loop. The WeChat `live-player`, flv.js/mpegts.js, ffplay and VLC
/// play it.
///
/// It sits in the connection's pipeline next to NIO's HTTP/1 codec (see `HLSPipelineInstaller`) and passes every
/// other request on. An FLV request behind answers still being written waits for them. Once streaming, the
/// connection is the stream's: it closes when the publish ends or the viewer falls too far behind.
final class FLVDeliveryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let delivery: FLVDelivery
    private let corsOrigin: String
    private let serverName: String
    /// Requests passed on whose answers have not ended.
    private var inFlight = 0
    /// An FLV request being read (its body and end are not passed on), then waiting for `inFlight` answers.
    private var request: (head: HTTPRequestHead, path: StreamPath)?
    private var requestComplete = false
    private var viewer: Viewer?
    /// Set once the connection streamed FLV: it takes no more requests.
    private var streamed = false
    /// A drain is queued on the event loop (after a writability change).
    private var drainScheduled = false
    /// A `play` hook is deciding; the request waits.
    private var awaitingHook = false
    private var logger: Logger

    private final class Viewer {
        let stream: LiveStream
        let reader: QueuedStreamReader
        let hookEvent: HookEvent?
        var done = false
        init(stream: LiveStream, reader: QueuedStreamReader, hookEvent: HookEvent?) {
            self.hookEvent = hookEvent
            self.stream = stream
            self.reader = reader
        }
    }

    init(delivery: FLVDelivery, corsOrigin: String, serverName: String) {
        self.delivery = delivery
        self.corsOrigin = corsOrigin
        self.serverName = serverName
        self.logger = delivery.logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Once the connection streams FLV, what the client sends is of no use.
        guard !streamed else { return }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head) where request == nil && (head.method == .GET || head.method == .HEAD):
            if let path = FLVDelivery.streamPath(uri: head.uri) {
                request = (head, path)
                requestComplete = false
                return
            }
        case .body where request != nil:
            return
        case .end where request != nil:
            requestComplete = true
            if inFlight == 0 { start(context: context) }
            return
        default:
            break
        }
        if request != nil { return }  // a pipelined request behind the FLV one: the connection will be the stream's
        if case .head = part { inFlight += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data) {
            inFlight -= 1
            if inFlight == 0, requestComplete, !streamed, request != nil { start(context: context) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Never write from inside this callback: it can fire in the middle of another write (NIO's chunked encoder
        // writes size line, data and CRLF as three writes), and a chunk written here would land inside that one.
        if viewer != nil, context.channel.isWritable, !drainScheduled {
            drainScheduled = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.drainScheduled = false
                handler.drain(context: context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(reason: "viewer closed the connection")
        context.fireChannelInactive()
    }

    /// The server is shutting down: a streaming viewer's response ends cleanly (its last chunk), then the
    /// connection closes. The router behind never saw this request, so it could not do this.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, viewer != nil else { return context.fireUserInboundEventTriggered(event) }
        finish(reason: "server shutting down")
        endAndClose(context: context)
    }

    // MARK: Streaming

    private func start(context: ChannelHandlerContext) {
        guard let (head, path) = request, !awaitingHook else { return }
        logger[metadataKey: "stream"] = "\(path)"
        logger[metadataKey: "remote"] = "\(context.channel.remoteAddress?.ipAddress ?? "?")"
        let query = Self.query(of: head.uri)
        if let signer = delivery.signer, let refusal = signer.refusal(token: query["token"], app: path.app, stream: path.name) {
            logger.warning("HTTP-FLV refused", metadata: ["reason": "\(refusal)"])
            return refuse(context: context, head: head, status: .forbidden, message: refusal.description)
        }
        guard let hooks = delivery.hooks else { return open(context: context, head: head, path: path, hookEvent: nil) }
        // The hook answers on another thread; the answer comes back to this channel's loop.
        awaitingHook = true
        let remote = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        let event = HookEvent(
            action: .play, app: path.app, stream: path.name, clientAddress: remote, query: query.filter { $0.key != "token" },
            sessionID: HookEvent.newSessionID(), protocol: "http-flv")
        let answer = context.eventLoop.makePromise(of: HookVerdict.self)
        answer.completeWithTask { await hooks.admit(event) }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        answer.futureResult.whenSuccess { verdict in
            let (handler, context) = loopBound.value
            handler.awaitingHook = false
            guard context.channel.isActive else {
                // The viewer left while the hook decided: an admission it counted ends here.
                if case .allow = verdict { handler.delivery.hooks?.notify(event.with(action: .playDone)) }
                return
            }
            switch verdict {
            case .refuse(let reason):
                handler.logger.warning("HTTP-FLV refused by hook", metadata: ["reason": "\(reason)"])
                handler.refuse(context: context, head: head, status: .forbidden, message: reason)
            case .allow(let renamed):
                guard let admitted = renamed.map({ StreamPath(app: path.app, name: $0) }) ?? path else {
                    return handler.refuse(context: context, head: head, status: .forbidden, message: "hook renamed the stream to an invalid name")
                }
                var admittedEvent = event
                admittedEvent.stream = admitted.name
                handler.open(context: context, head: head, path: admitted, hookEvent: admittedEvent)
            }
        }
    }

    /// The query string of a request URI as name → value (percent-decoded; the last of a repeated name wins).
    static func query(of uri: String) -> [String: String] {
        guard let components = URLComponents(string: uri) else { return [:] }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return query
    }

    private func open(context: ChannelHandlerContext, head: HTTPRequestHead, path: StreamPath, hookEvent: HookEvent?) {
        guard let stream = delivery.hub.stream(path) else {
            if let hookEvent { delivery.hooks?.notify(hookEvent.with(action: .playDone)) }
            logger.info("HTTP-FLV refused", metadata: ["reason": "not live"])
            return refuse(context: context, head: head, status: .notFound, message: "no live stream \(path)")
        }
        if let limit = delivery.hub.admitViewer(to: stream, limits: delivery.limits) {
            if let hookEvent { delivery.hooks?.notify(hookEvent.with(action: .playDone)) }
            logger.warning("HTTP-FLV refused", metadata: ["reason": "\(limit)"])
            return refuse(context: context, head: head, status: .serviceUnavailable, message: limit)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Date", value: HTTPDateHeader.shared.value())
        headers.add(name: "Server", value: serverName)
        headers.add(name: "Content-Type", value: "video/x-flv")
        headers.add(name: "Cache-Control", value: "no-cache, no-store")
        headers.add(name: "Access-Control-Allow-Origin", value: corsOrigin)
        // No length: HTTP/1.1 gets chunked encoding, HTTP/1.0 the end of the connection.
        if head.version.major == 1 && head.version.minor >= 1 {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else {
            headers.add(name: "Connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        if head.method == .HEAD {
            if let hookEvent { delivery.hooks?.notify(hookEvent.with(action: .playDone)) }
            delivery.hub.releaseViewer(of: stream)
            endAndClose(context: context)
            return
        }
        // The kernel would otherwise buffer megabytes for a viewer that stopped reading (loopback and LAN sockets
        // autotune to 4 MB): bounded, a stalled viewer shows as behind within seconds and its queue takes over.
        _ = context.channel.setOption(.socketOption(.so_sndbuf), value: Self.sendBufferBytes)
        let description = stream.streamDescription
        let known = description.video != nil || description.audio != nil
        let header = FLVFile.header(hasAudio: !known || description.audio != nil, hasVideo: !known || description.video != nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(header))), promise: nil)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let reader = QueuedStreamReader(eventLoop: context.eventLoop, configuration: delivery.limits.readerConfiguration) {
            let (handler, context) = loopBound.value
            handler.drain(context: context)
        }
        viewer = Viewer(stream: stream, reader: reader, hookEvent: hookEvent)
        streamed = true
        stream.attach(reader)
        context.flush()
        logger.info("HTTP-FLV viewer joined", metadata: ["publish": "\(stream.publish)"])
    }

    /// Socket send buffer of a streaming viewer (Linux doubles it): about a second of a 2 Mbit/s stream.
    static let sendBufferBytes: SocketOptionValue = 128 * 1024

    private func refuse(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, message: String) {
        request = nil
        struct Answer: Encodable {
            struct Error: Encodable { var status: Int, message: String }
            var error: Error
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = try? encoder.encode(Answer(error: .init(status: Int(status.code), message: message)))
        let body = ByteBuffer(bytes: json ?? Data())
        var headers = HTTPHeaders()
        headers.add(name: "Date", value: HTTPDateHeader.shared.value())
        headers.add(name: "Server", value: serverName)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Access-Control-Allow-Origin", value: corsOrigin)
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        endAndClose(context: context)
    }

    /// Ends the response and closes the connection once the end is out.
    private func endAndClose(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func drain(context: ChannelHandlerContext) {
        guard let viewer, !viewer.done else { return }
        if let reason = viewer.reader.closedReason {
            logger.warning("HTTP-FLV viewer closed", metadata: ["reason": "\(reason)", "dropped_frames": "\(viewer.reader.droppedFrames)"])
            finish(reason: reason)
            context.close(promise: nil)
            return
        }
        var wrote = false
        while context.channel.isWritable {
            let events = viewer.reader.take()
            if events.isEmpty { break }
            wrote = true
            for event in events where event.publish == viewer.stream.publish {
                if let tag = Self.tag(for: event) {
                    context.write(wrapOutboundOut(.body(.byteBuffer(tag))), promise: nil)
                } else if case .ended(let reason) = event.kind {
                    logger.info("HTTP-FLV stream ended", metadata: ["reason": "\(reason)"])
                    finish(reason: "publish ended")
                    endAndClose(context: context)
                    return
                }
            }
        }
        if wrote { context.flush() }
    }

    /// The FLV tag for an event, shared with every other viewer of it; nil for events that have none.
    static func tag(for event: StreamEvent) -> ByteBuffer? {
        switch event.kind {
        case .packet(let packet):
            return event.encodings.bytes(for: FLVDelivery.encodingKey) {
                FLVTagEncoder.body(for: packet).map {
                    FLVFile.tag(type: packet.track == .video ? .video : .audio, timestamp: UInt32(truncatingIfNeeded: packet.dts), body: $0)
                }
            }
        case .metadata(let body):
            return FLVFile.tag(type: .scriptData, timestamp: 0, body: body)
        case .cuePlaced(let cue):
            let body = ScriptData.onCuePoint(name: cue.kind.rawValue, timeMS: cue.timestamp, json: cue.json)
            return FLVFile.tag(type: .scriptData, timestamp: UInt32(truncatingIfNeeded: cue.timestamp), body: body)
        case .started, .clock, .ended:
            return nil
        }
    }

    private func finish(reason: String) {
        guard let viewer, !viewer.done else { return }
        viewer.done = true
        // The reader's wake-up holds this handler: letting go of the reader ends that cycle.
        self.viewer = nil
        viewer.stream.detach(viewer.reader)
        delivery.hub.releaseViewer(of: viewer.stream)
        if let event = viewer.hookEvent { delivery.hooks?.notify(event.with(action: .playDone)) }
        logger.info("HTTP-FLV viewer left", metadata: ["reason": "\(reason)", "dropped_frames": "\(viewer.reader.droppedFrames)"])
    }
}

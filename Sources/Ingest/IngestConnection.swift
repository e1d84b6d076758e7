import Logging
import Media
import NIOCore
import RTMP
import Store
import StreamHub
import Synchronization

/// The ingest's view of one RTMP connection: logs its life, authorizes its publish and claims the stream.
final class IngestConnection: RTMPConnectionDelegate {
    let remoteAddress: String
    let authorizer: PublishAuthorizer
    let hub: StreamHub
    let sessionLog: PublishSessionLog
    let counters: IngestServerCounters
    let logger: Logger
    let onInBandCue: @Sendable (InBandCue, LiveStream) -> Void
    let viewerLimits: ViewerLimits
    /// The connection's event loop: a publish's fan-out and a player's reader run on it.
    let eventLoop: any EventLoop
    /// The connection's channel, so a publish can be ended from outside (a revoked key).
    let close: @Sendable () -> Void

    init(
        remoteAddress: String, authorizer: PublishAuthorizer, hub: StreamHub, sessionLog: PublishSessionLog,
        counters: IngestServerCounters, logger: Logger, onInBandCue: @escaping @Sendable (InBandCue, LiveStream) -> Void,
        viewerLimits: ViewerLimits = .init(), eventLoop: any EventLoop, close: @escaping @Sendable () -> Void
    ) {
        self.viewerLimits = viewerLimits
        self.eventLoop = eventLoop
        self.close = close
        self.onInBandCue = onInBandCue
        self.remoteAddress = remoteAddress
        self.authorizer = authorizer
        self.hub = hub
        self.sessionLog = sessionLog
        self.counters = counters
        var logger = logger
        logger[metadataKey: "remote"] = "\(remoteAddress)"
        self.logger = logger
        logger.info("connection opened")
    }

    func handshakeCompleted(clientKind: Handshake.ClientKind) {
        logger.debug("handshake completed", metadata: ["client": "\(clientKind == .simple ? "simple" : "digest")"])
    }

    func connected(app: String, tcURL: String?, flashVersion: String?) {
        logger.info("connect", metadata: ["app": "\(app)", "flashVer": "\(flashVersion ?? "-")"])
    }

    func authorize(_ request: PublishRequest) async -> Result<any PublishSink, PublishRefusal> {
        switch await authorizer.streamPath(for: request) {
        case .failure(let refusal):
            counters.refusedPublishes.add(1, ordering: .relaxed)
            logger.warning("publish refused", metadata: ["app": "\(request.app)", "reason": "\(refusal.description)"])
            return .failure(refusal)
        case .success(let path):
            guard let stream = hub.claim(path, remoteAddress: remoteAddress, on: eventLoop) else {
                counters.refusedPublishes.add(1, ordering: .relaxed)
                logger.warning("publish refused", metadata: ["stream": "\(path)", "reason": "stream is already live"])
                return .failure(.badName("stream \(path) is already being published"))
            }
            do {
                let id = try await sessionLog.start(stream: path.description, remoteAddress: remoteAddress)
                logger.info("publish started", metadata: ["stream": "\(path)", "session": "\(id)"])
                if ["1", "true", "yes"].contains(request.query["cueSEI"]?.lowercased() ?? "") {
                    stream.embedsCuesInSEI.store(true, ordering: .relaxed)
                    logger.info("cues also go into video frames as SEI", metadata: ["stream": "\(path)"])
                }
                let (close, logger) = (self.close, self.logger)
                stream.onTerminate { reason in
                    logger.notice("ending publish", metadata: ["stream": "\(path)", "reason": "\(reason)"])
                    close()
                }
                return .success(PublishSession(stream: stream, hub: hub, sessionID: id, log: sessionLog, logger: logger, onInBandCue: onInBandCue))
            } catch {
                hub.release(stream, reason: "session could not be recorded")
                logger.error("could not record publish session: \(error)", metadata: ["stream": "\(path)"])
                return .failure(.denied("server could not record the session"))
            }
        }
    }

    func authorizePlay(_ request: PlayRequest) async -> Result<any PlaySink, PlayRefusal> {
        // The session checked the shape already; a path that still does not parse is not a stream.
        guard let path = StreamPath(app: request.app, name: request.name), let stream = hub.stream(path) else {
            let refusal = PlayRefusal.streamNotFound("no live stream \(request.app)/\(request.name)")
            logger.info("play refused", metadata: ["stream": "\(request.app)/\(request.name)", "reason": "not live"])
            return .failure(refusal)
        }
        if let limit = hub.admitViewer(to: stream, limits: viewerLimits) {
            logger.warning("play refused", metadata: ["stream": "\(path)", "reason": "\(limit)"])
            return .failure(.failed(limit))
        }
        return .success(
            PlaySession(request: request, path: path, stream: stream, hub: hub, limits: viewerLimits, eventLoop: eventLoop, logger: logger))
    }

    func ignored(typeID: UInt8, reason: String) {
        counters.ignoredMessages.add(1, ordering: .relaxed)
        logger.debug("ignored message", metadata: ["type": "\(typeID)", "reason": "\(reason)"])
    }

    func dropped(typeID: UInt8, reason: String) {
        let count = counters.droppedMessages.wrappingAdd(1, ordering: .relaxed).newValue
        // A encoder that sends only bad frames would flood the log: the first few, then every power of two.
        if count <= 10 || count & (count - 1) == 0 {
            logger.warning(
                "dropped a message that does not decode", metadata: ["type": "\(typeID)", "reason": "\(reason)", "dropped": "\(count)"])
        }
    }

    func closed(reason: String, error: RTMPError?) {
        if case .socketError = error {
            logger.info("connection closed", metadata: ["reason": "\(reason)"])
        } else if let error {
            counters.protocolErrors.add(1, ordering: .relaxed)
            logger.warning("connection closed", metadata: ["reason": "\(reason)", "error": "\(error)"])
        } else {
            logger.info("connection closed", metadata: ["reason": "\(reason)"])
        }
    }
}

/// Server-wide ingest counters.
public final class IngestServerCounters: Sendable {
    public let connections = Atomic<Int>(0)
    public let openConnections = Atomic<Int>(0)
    public let refusedPublishes = Atomic<Int>(0)
    public let protocolErrors = Atomic<Int>(0)
    public let ignoredMessages = Atomic<Int>(0)
    /// Data and media messages dropped because their bodies did not decode.
    public let droppedMessages = Atomic<Int>(0)

    public init() {}
}

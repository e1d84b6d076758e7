import Foundation
import Hooks
import Logging
import Media
import NIOCore
import PlaybackSigning
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
    /// The operator's admission hook, asked after the key check.
    let hooks: HookClient?
    /// Failed publishes per client address.
    let attempts: PublishAttemptGate
    /// `rtmp` or `rtmps`, as hooks are told.
    let protocolName: String
    /// Signed playback: a signed app's players need `token` in the play (or connect) URL.
    let signer: PlaybackSigner?
    /// Pairs this connection's admission hook with its `_done` event.
    let hookSessionID = HookEvent.newSessionID()

    init(
        remoteAddress: String, authorizer: PublishAuthorizer, hub: StreamHub, sessionLog: PublishSessionLog,
        counters: IngestServerCounters, logger: Logger, onInBandCue: @escaping @Sendable (InBandCue, LiveStream) -> Void,
        viewerLimits: ViewerLimits = .init(), eventLoop: any EventLoop, close: @escaping @Sendable () -> Void,
        hooks: HookClient? = nil, attempts: PublishAttemptGate = PublishAttemptGate(), protocolName: String = "rtmp",
        signer: PlaybackSigner? = nil
    ) {
        self.signer = signer
        self.hooks = hooks
        self.attempts = attempts
        self.protocolName = protocolName
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

    /// The client's IP without its port: what failed attempts are counted against.
    var clientIP: String { Self.ip(of: remoteAddress) }

    static func ip(of remoteAddress: String) -> String {
        guard let colon = remoteAddress.lastIndex(of: ":") else { return remoteAddress }
        return String(remoteAddress[..<colon])
    }

    func authorize(_ request: PublishRequest) async -> Result<any PublishSink, PublishRefusal> {
        if let wait = await attempts.admit(clientIP) {
            counters.refusedPublishes.add(1, ordering: .relaxed)
            attempts.refused.add(1, ordering: .relaxed)
            let seconds = Int(wait.rounded(.up))
            logger.warning("publish refused", metadata: ["app": "\(request.app)", "reason": "too many failed attempts", "retry_after_s": "\(seconds)"])
            return .failure(.denied("too many failed publish attempts from \(clientIP); retry in \(seconds) s"))
        }
        switch await authorizer.streamPath(for: request) {
        case .failure(let refusal):
            counters.refusedPublishes.add(1, ordering: .relaxed)
            // Only an unknown key counts towards the limit; a database error is not the client's failure.
            if refusal.code != PublishRefusal.badName("").code { attempts.refund(clientIP) } else { attempts.fail(clientIP) }
            logger.warning("publish refused", metadata: ["app": "\(request.app)", "reason": "\(refusal.description)"])
            return .failure(refusal)
        case .success(let keyPath):
            attempts.refund(clientIP)
            let path: StreamPath, hookEvent: HookEvent?
            switch await askHook(.publish, path: keyPath, query: request.query) {
            case .failure(let reason):
                counters.refusedPublishes.add(1, ordering: .relaxed)
                logger.warning("publish refused by hook", metadata: ["stream": "\(keyPath)", "reason": "\(reason)"])
                return .failure(.denied(reason.description))
            case .success(let admitted):
                (path, hookEvent) = admitted
            }
            guard let stream = hub.claim(path, remoteAddress: remoteAddress, on: eventLoop) else {
                counters.refusedPublishes.add(1, ordering: .relaxed)
                logger.warning("publish refused", metadata: ["stream": "\(path)", "reason": "stream is already live"])
                if let hookEvent { hooks?.notify(hookEvent.with(action: .publishDone)) }
                return .failure(.badName("stream \(path) is already being published"))
            }
            do {
                let id = try await sessionLog.start(stream: path.description, remoteAddress: remoteAddress)
                logger.info("publish started", metadata: ["stream": "\(path)", "session": "\(id)"])
                if path != keyPath { stream.keyPath.withLockedValue { $0 = keyPath } }
                if ["1", "true", "yes"].contains(request.query["cueSEI"]?.lowercased() ?? "") {
                    stream.embedsCuesInSEI.store(true, ordering: .relaxed)
                    logger.info("cues also go into video frames as SEI", metadata: ["stream": "\(path)"])
                }
                let (close, logger) = (self.close, self.logger)
                stream.onTerminate { reason in
                    logger.notice("ending publish", metadata: ["stream": "\(path)", "reason": "\(reason)"])
                    close()
                }
                let hooks = self.hooks
                return .success(
                    PublishSession(
                        stream: stream, hub: hub, sessionID: id, log: sessionLog, logger: logger, onInBandCue: onInBandCue,
                        onEnded: { _ in if let hookEvent { hooks?.notify(hookEvent.with(action: .publishDone)) } }))
            } catch {
                hub.release(stream, reason: "session could not be recorded")
                logger.error("could not record publish session: \(error)", metadata: ["stream": "\(path)"])
                if let hookEvent { hooks?.notify(hookEvent.with(action: .publishDone)) }
                return .failure(.denied("server could not record the session"))
            }
        }
    }

    /// Asks the hook, when there is one, about a publish or play of `path`. On allow: the path to use (renamed within
    /// the same app when the hook said so) and the event whose `_done` goes out when it ends (nil without a hook).
    private func askHook(
        _ action: HookEvent.Action, path: StreamPath, query: [String: String]
    ) async -> Result<(StreamPath, HookEvent?), HookRefusal> {
        guard let hooks else { return .success((path, nil)) }
        var event = HookEvent(
            action: action, app: path.app, stream: path.name, clientAddress: remoteAddress, query: query, sessionID: hookSessionID,
            protocol: protocolName)
        switch await hooks.admit(event) {
        case .refuse(let reason):
            return .failure(HookRefusal(reason))
        case .allow(renamedTo: nil):
            return .success((path, event))
        case .allow(renamedTo: let name?):
            guard let renamed = StreamPath(app: path.app, name: name) else {
                return .failure(HookRefusal("hook renamed the stream to an invalid name"))
            }
            logger.info("hook renamed the stream", metadata: ["stream": "\(path)", "to": "\(renamed)"])
            event.stream = renamed.name
            return .success((renamed, event))
        }
    }

    struct HookRefusal: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func authorizePlay(_ request: PlayRequest) async -> Result<any PlaySink, PlayRefusal> {
        // The session checked the shape already; a path that still does not parse is not a stream.
        guard var path = StreamPath(app: request.app, name: request.name) else {
            return notLive(request.app + "/" + request.name)
        }
        if let signer, let refusal = signer.refusal(token: request.query["token"], app: path.app, stream: path.name) {
            logger.warning("play refused", metadata: ["stream": "\(path)", "reason": "\(refusal)"])
            return .failure(.failed(refusal.description))
        }
        let hookEvent: HookEvent?
        switch await askHook(.play, path: path, query: request.query.filter { $0.key != "token" }) {
        case .failure(let reason):
            logger.warning("play refused by hook", metadata: ["stream": "\(path)", "reason": "\(reason)"])
            return .failure(.failed(reason.description))
        case .success(let admitted):
            (path, hookEvent) = admitted
        }
        guard let stream = hub.stream(path) else {
            if let hookEvent { hooks?.notify(hookEvent.with(action: .playDone)) }
            return notLive(path.description)
        }
        if let limit = hub.admitViewer(to: stream, limits: viewerLimits) {
            logger.warning("play refused", metadata: ["stream": "\(path)", "reason": "\(limit)"])
            if let hookEvent { hooks?.notify(hookEvent.with(action: .playDone)) }
            return .failure(.failed(limit))
        }
        let hooks = self.hooks
        return .success(
            PlaySession(
                request: request, path: path, stream: stream, hub: hub, limits: viewerLimits, eventLoop: eventLoop, logger: logger,
                onEnded: { _ in if let hookEvent { hooks?.notify(hookEvent.with(action: .playDone)) } }))
    }

    private func notLive(_ path: String) -> Result<any PlaySink, PlayRefusal> {
        logger.info("play refused", metadata: ["stream": "\(path)", "reason": "not live"])
        return .failure(.streamNotFound("no live stream \(path)"))
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

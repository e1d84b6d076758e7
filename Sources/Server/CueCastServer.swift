import Foundation
import HLS
import Hooks
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Cueing
import Ingest
import Remux
import Logging
import Media
import NIOPosix
import Push
import ServiceLifecycle
import Store
import StreamHub
import NIOConcurrencyHelpers
public import UnixSignals
import Web

/// The whole server, built from a configuration: the RTMP ingest and the HTTP server in one service group.
///
/// `cuecast serve` and the end-to-end tests both use this, so tests run the real thing (on port 0).
public struct CueCastServer: Sendable {
    public let configuration: ServerConfiguration
    public let hub: StreamHub
    public let database: Database
    public let keys: StreamKeyStore
    public let sessions: PublishSessionLog
    public let adminToken: String
    public let hls = HLSStore()
    public let cues: CueService
    public let cueLog: CueLog
    public let pushes: PushService
    public let ports = ListeningPorts()
    public let httpConnections = HTTPConnections()
    /// What RTMPS presents; nil when no certificate is configured.
    public let certificate: ServerCertificate?
    let pages: PageRoutes
    let logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        database = try Database(directory: configuration.dataDir)
        keys = StreamKeyStore(database: database)
        sessions = PublishSessionLog(database: database)
        var gopCache = GOPCache.Limits()
        gopCache.isEnabled = configuration.gopCache
        hub = StreamHub(collectsStatistics: configuration.statistics, gopCache: gopCache)
        cueLog = CueLog(database: database)
        cues = CueService(configuration: configuration.cues, hub: hub, log: cueLog, keys: keys, logger: logger)
        do {
            pages = try PageRoutes(hlsjs: configuration.hlsjs)
        } catch {
            throw ConfigurationError.invalid("hlsjs", "\(configuration.hlsjs): \(error)")
        }
        switch (configuration.tlsCertificate, configuration.tlsKey) {
        case (nil, nil):
            certificate = nil
        case (let certificatePath?, let keyPath?):
            do {
                certificate = try ServerCertificate(certificatePath: certificatePath, keyPath: keyPath)
            } catch {
                throw ConfigurationError.invalid("tls-certificate", "\(error)")
            }
        default:
            throw ConfigurationError.invalid("tls-certificate", "tls-certificate and tls-key go together; set both or neither")
        }
        if configuration.https && certificate == nil {
            throw ConfigurationError.invalid("https", "on: HTTPS needs tls-certificate and tls-key")
        }
        adminToken = try AdminToken.load(configured: configuration.adminToken, dataDir: configuration.dataDir).token
        do {
            pushes = try PushService(
                store: PushTargetStore(database: database), hub: hub, group: MultiThreadedEventLoopGroup.singleton,
                caFile: configuration.pushCAFile, graceSeconds: configuration.hls.gracePeriod,
                readerConfiguration: configuration.viewers.readerConfiguration, logger: logger)
        } catch {
            throw ConfigurationError.invalid("push-ca-file", "\(configuration.pushCAFile ?? ""): \(error)")
        }
    }

    /// Reads the certificate files again (on `SIGHUP`). New RTMPS connections get the new certificate; live ones keep
    /// theirs. A file that does not load leaves the certificate in use and logs why.
    public func reloadCertificate() {
        guard let certificate else {
            logger.notice("SIGHUP: no certificate configured, nothing to reload")
            return
        }
        do {
            try certificate.reload()
            let (serial, expiry) = certificate.summary
            logger.notice("certificate reloaded", metadata: ["certificate_serial": "\(serial)", "expires": "\(expiry)"])
        } catch {
            logger.error("certificate not reloaded; the previous one stays in use", metadata: ["error": "\(error)"])
        }
    }

    public static let version = "0.1.0"
    static let serverName = "CueCast"

    public var rtmpBaseURL: String { "rtmp://\(configuration.publicHost):\(configuration.rtmpPort)" }

    /// Runs until cancelled or until one of `signals` arrives, then shuts down gracefully. Each of `reloadSignals`
    /// reloads the certificate.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint], reloadSignals: [UnixSignal] = [.sighup]) async throws {
        try await sessions.closeDangling()
        try await pushes.load()
        defer { pushes.stopAll() }
        let started = Date()
        let ports = self.ports
        let hooks = configuration.onPublishURL.map { url in
            HookClient(
                configuration: .init(url: url, secret: configuration.hookSecret, timeout: .milliseconds(Int64(configuration.hookTimeout * 1000))),
                logger: self.logger)
        }
        let hlsService = HLSService(
            configuration: configuration.hls, hub: hub, store: hls, sequences: HLSSequenceStore(database: database), logger: logger)
        let shutdownBegan = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let rtmp = RTMPServer(
            configuration: .init(
                host: configuration.rtmpHost, port: configuration.rtmpPort, connection: configuration.rtmpConnection,
                viewers: configuration.viewers, tlsPort: configuration.rtmpsPort),
            hub: hub, keys: keys, sessionLog: sessions, logger: logger,
            onListening: { port in ports.set(rtmp: port) },
            onInBandCue: { [cues] cue, stream in cues.receiveInBand(cue, on: stream) },
            hooks: hooks,
            attempts: PublishAttemptGate(
                perMinute: Double(configuration.publishFailuresPerMinute), burst: Double(configuration.publishFailuresPerMinute)),
            certificate: certificate,
            onTLSListening: { port in ports.set(rtmps: port) },
            onDrained: { [hub, sessions, logger, hlsService, hooks] in
                // Each publish ends on its own loop as its connection closes; wait for the hub to see them all.
                let deadline = ContinuousClock.now + .seconds(3)
                while !hub.liveStreams.isEmpty, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
                hlsService.endAll()
                // The ended publishes' and plays' `publish_done`/`play_done` go out before the process does.
                if let hooks, await hooks.waitForNotifications(upTo: .seconds(3)) > 0 {
                    logger.warning("some publish_done/play_done hook events were not delivered before shutdown")
                }
                // Session ends are written in the background: wait for them, then close what is left as shutdown.
                while (try? await sessions.openCount()) ?? 0 > 0, ContinuousClock.now < deadline + .seconds(2) {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                do {
                    try await sessions.closeDangling(reason: "shutdown")
                } catch {
                    logger.error("could not close publish sessions at shutdown: \(error)")
                }
            },
            onShutdownBegan: { shutdownBegan.withLockedValue { $0 = .now } },
            signer: configuration.playbackSigner)
        if let url = configuration.onPublishURL {
            logger.info("publish and play hook", metadata: ["url": "\(HookClient.redacted(url))", "signed": "\(configuration.hookSecret != nil)"])
            if configuration.hookSecret == nil { logger.warning("hook requests are unsigned: set hook-secret so the hook can tell CueCast's requests apart") }
        }
        let hlsDelivery = HLSRoutes(
            store: hls, corsOrigin: configuration.corsOrigin,
            flv: FLVDelivery(hub: hub, limits: configuration.viewers, logger: logger, hooks: hooks, signer: configuration.playbackSigner),
            signer: configuration.playbackSigner)
        if let signer = configuration.playbackSigner {
            logger.info("signed playback", metadata: ["apps": "\(signer.apps.map { $0.sorted().joined(separator: ",") } ?? "all")"])
        }
        let router = WebRouter.make(
            hub: hub, keys: keys, sessions: sessions, hls: hls, cues: cues, pushes: pushes, adminToken: adminToken,
            rtmpPublicURL: rtmpBaseURL, corsOrigin: configuration.corsOrigin,
            status: { [hub, counters = rtmp.counters, attempts = rtmp.attempts, httpConnections] in
                ServerStatus(
                    version: CueCastServer.version, uptimeSeconds: Date().timeIntervalSince(started),
                    rtmpConnections: counters.openConnections.load(ordering: .relaxed), httpConnections: httpConnections.count,
                    liveStreams: hub.liveStreams.count,
                    cpuSeconds: ProcessFigures.cpuSeconds(), residentBytes: ProcessFigures.residentBytes(),
                    heapBytes: ProcessFigures.heapBytes(),
                    refusedPublishes: counters.refusedPublishes.load(ordering: .relaxed),
                    rateLimitedPublishes: attempts.refused.load(ordering: .relaxed))
            }, hlsRoutes: hlsDelivery, tokens: APITokenStore(database: database), pages: pages)
        let (httpConnections, logger) = (self.httpConnections, self.logger)
        let https = configuration.https ? certificate : nil
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [httpConnections.handler()]
                    + hlsDelivery.pipelineHandlers(serverName: Self.serverName, sendfile: https == nil, logger: logger)))
        let httpServer = HTTPService(
            responder: router.buildResponder(),
            server: try https.map { try .tls(http1, tlsConfiguration: $0.reloadingConfiguration) } ?? http1,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: Self.serverName,
                backlog: RTMPServer.listenBacklog),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger,
            onServerRunning: { channel in ports.set(http: channel.localAddress?.port ?? 0) })
        // The HTTP side's services stop in reverse: the listener first (in-flight answers finish), then the rest.
        let app = ServiceGroup(
            configuration: .init(
                services: [
                    hlsService, ReloadService(signals: reloadSignals, reload: { [self] in reloadCertificate() }),
                    HeapTrimService(logger: logger),
                ]
                    + (configuration.statistics ? [StatsService(hub: hub, hls: hls, eventLoop: MultiThreadedEventLoopGroup.singleton.any())] : [])
                    + [httpServer],
                logger: logger))
        // Shut down in reverse order: RTMP first (clients told, playlists ended, sessions closed), then HTTP
        // (in-flight responses finish). What is still running after `shutdown-timeout` is cancelled.
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: app, serviceName: "HTTP"),
                .init(service: rtmp, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "RTMP"),
            ],
            gracefulShutdownSignals: signals, cancellationSignals: [], logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.shutdownTimeout * 1000))
        group.maximumCancellationDuration = .seconds(3)
        defer {
            if let began = shutdownBegan.withLockedValue({ $0 }) {
                let took = ContinuousClock.now - began
                if took >= .milliseconds(Int64(configuration.shutdownTimeout * 1000)) {
                    logger.warning("shutdown-timeout reached: what was still running (a slow download, a stuck client) was cut short",
                        metadata: ["shutdown_timeout_s": "\(configuration.shutdownTimeout)"])
                }
                logger.notice("shut down", metadata: ["took": "\(took)"])
            }
        }
        try await ServiceGroup(configuration: group).run()
    }
}

/// The ports the listeners actually bound, for callers that asked for port 0.
public final class ListeningPorts: Sendable {
    private struct State {
        var http: Int?
        var rtmp: Int?
        var rtmps: Int?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    func set(http: Int) { update { $0.http = http } }
    func set(rtmp: Int) { update { $0.rtmp = rtmp } }
    func set(rtmps: Int) { update { $0.rtmps = rtmps } }

    /// The RTMPS port once it listens (set before the RTMP port, so known by `ready()`); nil without a certificate.
    public var rtmps: Int? { state.withLockedValue { $0.rtmps } }

    private func update(_ change: (inout State) -> Void) {
        let waiters = state.withLockedValue { state in
            change(&state)
            guard state.http != nil, state.rtmp != nil else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until both listeners are up.
    public func ready() async -> (http: Int, rtmp: Int) {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state in
                if state.http != nil, state.rtmp != nil { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLockedValue { ($0.http!, $0.rtmp!) }
    }
}

/// The SQLite store is where HLS sequence numbers live; the remuxer knows it only as an allocator.
extension HLSSequenceStore: SequenceAllocator {
    public func next(for path: StreamPath) async throws -> Int { try await next(stream: path.description) }
    public func advance(_ path: StreamPath, to next: Int) async throws { try await advance(stream: path.description, to: next) }
}

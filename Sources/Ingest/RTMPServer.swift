import Hooks
import Logging
import Media
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import PlaybackSigning
import RTMP
import ServiceLifecycle
import Store
import StreamHub
import NIOConcurrencyHelpers

/// The RTMP listeners as a service: plain RTMP, and RTMPS when a certificate is configured. Each accepts publishers
/// and players until graceful shutdown, then stops listening.
public final class RTMPServer: Service, Sendable {
    /// Connections the kernel may queue before they are accepted, on both listeners (capped by
    /// `net.core.somaxconn`). A show's start brings viewers by the thousand in the same second; past a 256 queue
    /// the kernel drops their SYNs and each dropped one waits a second or more for its retry.
    public static let listenBacklog = 4096

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var connection: RTMPConnectionConfiguration
        /// RTMP players (and, through the same hub, HTTP-FLV viewers).
        public var viewers: ViewerLimits
        /// The RTMPS port; used only with a certificate.
        public var tlsPort: Int

        public init(
            host: String = "0.0.0.0", port: Int = 1935, connection: RTMPConnectionConfiguration = .init(),
            viewers: ViewerLimits = .init(), tlsPort: Int = 1936
        ) {
            self.tlsPort = tlsPort
            self.host = host
            self.port = port
            self.connection = connection
            self.viewers = viewers
        }
    }

    let configuration: Configuration
    let hub: StreamHub
    let authorizer: PublishAuthorizer
    let sessionLog: PublishSessionLog
    let logger: Logger
    let group: any EventLoopGroup
    public let counters = IngestServerCounters()
    /// Tracks every connection of both listeners so a graceful shutdown can tell each one.
    let quiesce: ServerQuiescingHelper
    /// Failed publishes per client address, shared by every connection.
    public let attempts: PublishAttemptGate
    let hooks: HookClient?
    let signer: PlaybackSigner?
    let onListening: @Sendable (Int) async -> Void
    let onTLSListening: @Sendable (Int) async -> Void
    /// RTMPS: off when nil.
    public let certificate: ServerCertificate?
    /// Runs once every connection has closed in a graceful shutdown (the server ends its playlists and sessions).
    let onDrained: @Sendable () async -> Void
    /// Called when a graceful shutdown begins (RTMP is the first service to stop).
    let onShutdownBegan: @Sendable () -> Void
    let onInBandCue: @Sendable (InBandCue, LiveStream) -> Void

    public init(
        configuration: Configuration, hub: StreamHub, keys: StreamKeyStore, sessionLog: PublishSessionLog,
        logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onInBandCue: @escaping @Sendable (InBandCue, LiveStream) -> Void = { _, _ in },
        hooks: HookClient? = nil, attempts: PublishAttemptGate = PublishAttemptGate(),
        certificate: ServerCertificate? = nil, onTLSListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onDrained: @escaping @Sendable () async -> Void = {}, onShutdownBegan: @escaping @Sendable () -> Void = {},
        signer: PlaybackSigner? = nil
    ) {
        self.signer = signer
        self.onShutdownBegan = onShutdownBegan
        self.onDrained = onDrained
        self.quiesce = ServerQuiescingHelper(group: group)
        self.certificate = certificate
        self.onTLSListening = onTLSListening
        self.hooks = hooks
        self.attempts = attempts
        self.onInBandCue = onInBandCue
        self.configuration = configuration
        self.hub = hub
        self.authorizer = PublishAuthorizer(keys: keys)
        self.sessionLog = sessionLog
        self.logger = logger
        self.group = group
        self.onListening = onListening
    }

    public func run() async throws {
        let plain = try await listen(port: configuration.port, certificate: nil)
        var channels = [plain]
        // RTMPS binds first, so whoever waits for the plain port finds both up.
        if let certificate {
            let secure: any Channel
            do {
                secure = try await listen(port: configuration.tlsPort, certificate: certificate)
            } catch {
                // The plain listener must not stay bound behind a server that failed to start.
                try? await plain.close()
                throw error
            }
            channels.append(secure)
            let tlsPort = secure.localAddress?.port ?? configuration.tlsPort
            await onTLSListening(tlsPort)
            let (serial, expiry) = certificate.summary
            logger.info(
                "RTMPS listening",
                metadata: ["address": "\(configuration.host):\(tlsPort)", "certificate_serial": "\(serial)", "expires": "\(expiry)"])
        }
        let port = plain.localAddress?.port ?? configuration.port
        await onListening(port)
        logger.info("RTMP listening", metadata: ["address": "\(configuration.host):\(port)"])

        // Graceful shutdown: the listeners close, every connection is told (`ChannelShouldQuiesceEvent`: publishers
        // get their onStatus, then close), and the helper reports when the last one has gone.
        // Cancellation only closes the listeners; closeFuture ignores it, so that is explicit.
        let listeners = channels
        let drained = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)
        let (quiesce, group, counters, logger, onShutdownBegan) = (self.quiesce, self.group, self.counters, self.logger, self.onShutdownBegan)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                for channel in listeners { try await channel.closeFuture.get() }
            } onGracefulShutdown: {
                onShutdownBegan()
                let open = counters.openConnections.load(ordering: .relaxed)
                logger.notice("RTMP shutting down: listeners closed, telling open connections", metadata: ["connections": "\(open)"])
                let promise = group.next().makePromise(of: Void.self)
                drained.withLockedValue { $0 = promise.futureResult }
                quiesce.initiateShutdown(promise: promise)
            }
        } onCancel: {
            for channel in listeners { channel.close(promise: nil) }
        }
        if let future = drained.withLockedValue({ $0 }) {
            try? await future.get()
            logger.notice("RTMP connections closed")
            await onDrained()
        }
        logger.info("RTMP listeners stopped")
    }

    /// One listener; with a certificate, TLS comes first in every connection's pipeline.
    private func listen(port: Int, certificate: ServerCertificate?) async throws -> any Channel {
        let configuration = self.configuration
        let (hub, authorizer, sessionLog, counters, logger) = (self.hub, self.authorizer, self.sessionLog, self.counters, self.logger)
        let (onInBandCue, hooks, attempts, signer) = (self.onInBandCue, self.hooks, self.attempts, self.signer)
        let quiesce = self.quiesce
        return try await ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: Int32(RTMPServer.listenBacklog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Reads of at most 16 KB: a frame usually arrives in one, and the audio frames handed on as slices
            // of a read keep only that much memory alive while they wait to be muxed.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4096, maximum: 16 * 1024))
            .childChannelInitializer { channel in
                counters.connections.add(1, ordering: .relaxed)
                counters.openConnections.add(1, ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in counters.openConnections.subtract(1, ordering: .relaxed) }
                let remote = channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
                let delegate = IngestConnection(
                    remoteAddress: remote, authorizer: authorizer, hub: hub, sessionLog: sessionLog,
                    counters: counters, logger: logger, onInBandCue: onInBandCue,
                    viewerLimits: configuration.viewers, eventLoop: channel.eventLoop, close: { [weak channel] in channel?.close(promise: nil) },
                    hooks: hooks, attempts: attempts, protocolName: certificate == nil ? "rtmp" : "rtmps", signer: signer)
                return channel.eventLoop.makeCompletedFuture {
                    if let certificate {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificate.context))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        RTMPServerHandler(configuration: configuration.connection, delegate: delegate))
                }
            }
            .bind(host: configuration.host, port: port).get()
    }
}

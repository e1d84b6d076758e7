import Hooks
import Logging
import Media
import NIOCore
import NIOPosix
import RTMP
import ServiceLifecycle
import Store
import StreamHub

/// The RTMP listener as a service: accepts publishers and players until graceful shutdown, then stops listening.
public final class RTMPServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var connection: RTMPConnectionConfiguration
        /// RTMP players (and, through the same hub, HTTP-FLV viewers).
        public var viewers: ViewerLimits

        public init(
            host: String = "0.0.0.0", port: Int = 1935, connection: RTMPConnectionConfiguration = .init(),
            viewers: ViewerLimits = .init()
        ) {
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
    /// Failed publishes per client address, shared by every connection.
    public let attempts: PublishAttemptGate
    let hooks: HookClient?
    let onListening: @Sendable (Int) async -> Void
    let onInBandCue: @Sendable (InBandCue, LiveStream) -> Void

    public init(
        configuration: Configuration, hub: StreamHub, keys: StreamKeyStore, sessionLog: PublishSessionLog,
        logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onInBandCue: @escaping @Sendable (InBandCue, LiveStream) -> Void = { _, _ in },
        hooks: HookClient? = nil, attempts: PublishAttemptGate = PublishAttemptGate()
    ) {
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
        let configuration = self.configuration
        let (hub, authorizer, sessionLog, counters, logger) = (self.hub, self.authorizer, self.sessionLog, self.counters, self.logger)
        let (onInBandCue, hooks, attempts) = (self.onInBandCue, self.hooks, self.attempts)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
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
                    hooks: hooks, attempts: attempts, protocolName: "rtmp")
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RTMPServerHandler(configuration: configuration.connection, delegate: delegate))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let port = channel.localAddress?.port ?? configuration.port
        await onListening(port)
        logger.info("RTMP listening", metadata: ["address": "\(configuration.host):\(port)"])

        // closeFuture ignores task cancellation, so both shutdown paths close the listener explicitly.
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
        logger.info("RTMP listener stopped")
    }
}

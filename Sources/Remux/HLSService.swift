import Foundation
import HLS
import Logging
import LoopTicks
import Media
import NIOCore
import NIOPosix
import ServiceLifecycle
import StreamHub
import NIOConcurrencyHelpers

/// Runs one `HLSPipeline` per stream path that goes live, and ends and frees playlists on schedule.
public final class HLSService: Service, Sendable {
    let configuration: HLSConfiguration
    let hub: StreamHub
    public let store: HLSStore
    let sequences: any SequenceAllocator
    let logger: Logger
    let mirror: DiskMirror?
    /// The loop housekeeping ticks on (whole seconds, with whatever else that loop does once a second).
    let eventLoop: any EventLoop
    private let pipelines = NIOLockedValueBox<[StreamPath: HLSPipelineSubscriber]>([:])

    public init(
        configuration: HLSConfiguration, hub: StreamHub, store: HLSStore, sequences: any SequenceAllocator, logger: Logger,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.hub = hub
        self.store = store
        self.sequences = sequences
        self.logger = logger
        self.mirror = configuration.mirrorDirectory.map { DiskMirror(directory: $0, logger: logger) }
        // Called inside the hub's claim, before the first packet: the pipeline sees the whole publish.
        hub.onStreamStart { [weak self] path in self?.ensurePipeline(for: path) }
    }

    private func ensurePipeline(for path: StreamPath) {
        pipelines.withLockedValue { pipelines in
            guard pipelines[path] == nil else { return }
            let pipeline = HLSPipeline(
                path: path, configuration: configuration, store: store, mirror: mirror, logger: logger,
                extendReservation: { [self] upTo in extendReservation(of: path, to: upTo) })
            let subscriber = HLSPipelineSubscriber(pipeline: pipeline, path: path, logger: logger) { [self] in
                await reserveSequences(for: path)
            }
            pipelines[path] = subscriber
            hub.follow(path, with: subscriber)
        }
    }

    /// Frees the pipeline of a path whose playlist is gone, unless a publish of the path is live or starting (it
    /// then keeps its pipeline, which makes a new playlist). A later publish gets a new pipeline.
    func retirePipeline(of path: StreamPath) {
        guard let subscriber = pipelines.withLockedValue({ $0[path] }) else { return }
        hub.unfollow(path, reader: subscriber) {
            pipelines.withLockedValue { _ = $0.removeValue(forKey: path) }
            logger.debug("HLS remuxer freed", metadata: ["stream": "\(path)"])
        }
    }

    /// Pipelines run on the publishers' threads; the service itself only keeps house until shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await SecondTicker.run(on: self.eventLoop) { [self] _ in self.keepHouse(now: Date()) } }
    }

    /// Reserves a block of sequence numbers before any is used, so a crash (even SIGKILL) can skip numbers but
    /// never reuse them. Returns the first.
    ///
    /// A path's numbers start at 1, not 0: hls.js (1.6) takes a playlist whose newest whole segment is number 0
    /// as one that cannot block (its check reads the number as false) and waits about two target durations for
    /// its next reload, so a viewer who joined during the first segment stalled for seconds.
    func reserveSequences(for path: StreamPath) async -> Int {
        let next = max(1, (try? await sequences.next(for: path)) ?? 1)
        do {
            try await sequences.advance(path, to: next + HLSPipeline.sequenceBlock)
        } catch {
            logger.error("could not reserve HLS sequence numbers: \(error)", metadata: ["stream": "\(path)"])
        }
        return next
    }

    /// Moves the reservation of `path` on, in the background.
    private func extendReservation(of path: StreamPath, to next: Int) {
        let (sequences, logger) = (self.sequences, self.logger)
        Task {
            do {
                try await sequences.advance(path, to: next)
            } catch {
                logger.error("could not reserve HLS sequence numbers: \(error)", metadata: ["stream": "\(path)"])
            }
        }
    }

    /// Shutdown: every playlist whose publisher has left ends now, with `EXT-X-ENDLIST`, instead of after its
    /// grace period (held blocking requests are answered with it). Returns how many ended.
    @discardableResult
    public func endAll() -> Int {
        var ended = 0
        for stream in store.all {
            let (state, since) = stream.stateSince
            guard state == .grace, Self.endGrace(of: stream, seen: since) else {
                if state == .live { logger.warning("HLS playlist still live at shutdown", metadata: ["stream": "\(stream.path)"]) }
                continue
            }
            mirror?.prune(stream)
            ended += 1
        }
        // The process exits soon after: the mirror's queued writes (the ended playlists) must land first.
        mirror?.drain()
        logger.notice("HLS playlists ended for shutdown", metadata: ["playlists": "\(ended)"])
        return ended
    }

    /// Ends `stream` if it is still in the grace period that began at `seen`; false if a republish came first.
    static func endGrace(of stream: HLSStream, seen: Date, now: Date = Date()) -> Bool {
        stream.transition(from: .grace, to: .ended, since: seen, now: now)
    }

    /// Every second: ends playlists whose grace period is over, drops those past retention, frees old segments.
    /// Runs on an event loop; file work goes to the mirror's own queue.
    private func keepHouse(now: Date) {
        for stream in store.all {
            let (state, since) = stream.stateSince
            // A live stream's remuxer purges as each segment ends and reuses the freed bytes.
            if state != .live { stream.purge(now: now) }
            switch state {
            case .grace where now.timeIntervalSince(since) >= configuration.gracePeriod:
                // Only the grace period seen here: a republish since then has made the playlist live again.
                if Self.endGrace(of: stream, seen: since, now: now) {
                    logger.info("HLS playlist ended", metadata: ["stream": "\(stream.path)"])
                }
                mirror?.prune(stream)
            case .ended where now.timeIntervalSince(since) >= configuration.retention:
                store.remove(stream)
                mirror?.remove(stream.path)
                retirePipeline(of: stream.path)
                logger.info("HLS playlist removed after retention", metadata: ["stream": "\(stream.path)"])
            default:
                mirror?.prune(stream)
            }
        }
    }
}

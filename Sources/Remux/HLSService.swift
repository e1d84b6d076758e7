import Foundation
import HLS
import Logging
import Media
import ServiceLifecycle
import Store
import StreamHub
import Synchronization

/// Runs one `HLSPipeline` per stream path that goes live, and ends and frees playlists on schedule.
public final class HLSService: Service, Sendable {
    let configuration: HLSConfiguration
    let hub: StreamHub
    public let store: HLSStore
    let sequences: HLSSequenceStore
    let logger: Logger
    let mirror: DiskMirror?
    private let pipelines = Mutex<Set<StreamPath>>([])
    private let newPipelines: AsyncStream<(StreamPath, AsyncStream<StreamEvent>)>
    private let newPipelineContinuation: AsyncStream<(StreamPath, AsyncStream<StreamEvent>)>.Continuation

    public init(configuration: HLSConfiguration, hub: StreamHub, store: HLSStore, sequences: HLSSequenceStore, logger: Logger) {
        self.configuration = configuration
        self.hub = hub
        self.store = store
        self.sequences = sequences
        self.logger = logger
        self.mirror = configuration.mirrorDirectory.map { DiskMirror(directory: $0, logger: logger) }
        (newPipelines, newPipelineContinuation) = AsyncStream.makeStream()
        // Called inside the hub's claim, before the first packet: the reader sees the whole publish.
        hub.onStreamStart { [weak self] path in self?.ensurePipeline(for: path) }
    }

    private func ensurePipeline(for path: StreamPath) {
        let isNew = pipelines.withLock { $0.insert(path).inserted }
        guard isNew else { return }
        let reader = hub.readers(of: path).makeReader(capacity: 50_000)
        newPipelineContinuation.yield((path, reader))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.housekeeping() }
            await withGracefulShutdownHandler {
                for await (path, reader) in newPipelines.cancelOnGracefulShutdown() {
                    group.addTask {
                        let pipeline = HLSPipeline(
                            path: path, configuration: self.configuration, store: self.store, sequences: self.sequences,
                            mirror: self.mirror, logger: self.logger)
                        await pipeline.run(reader)
                    }
                }
            } onGracefulShutdown: {
                self.newPipelineContinuation.finish()
            }
            group.cancelAll()
        }
    }

    /// Every second: ends playlists whose grace period is over, drops those past retention, frees old segments.
    private func housekeeping() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = Date()
            for stream in store.all {
                stream.purge(now: now)
                switch stream.state {
                case .grace where now.timeIntervalSince(stream.stateChangedAt) >= configuration.gracePeriod:
                    stream.setState(.ended, now: now)
                    logger.info("HLS playlist ended", metadata: ["stream": "\(stream.path)"])
                    mirror?.prune(stream)
                case .ended where now.timeIntervalSince(stream.stateChangedAt) >= configuration.retention:
                    store.remove(stream)
                    mirror?.remove(stream.path)
                    logger.info("HLS playlist removed after retention", metadata: ["stream": "\(stream.path)"])
                default:
                    mirror?.prune(stream)
                }
            }
        }
    }
}

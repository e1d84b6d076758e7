import ServiceLifecycle
import StreamHub

/// Samples every live stream's counters once a second, so rates are measured over regular windows.
struct StatsService: Service {
    let hub: StreamHub

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = ContinuousClock.now
            for stream in hub.liveStreams { stream.sample(at: now) }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

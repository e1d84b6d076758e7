import HLS
import ServiceLifecycle
import StreamHub

/// Samples every live stream's counters once a second, so rates are measured over regular windows.
struct StatsService: Service {
    let hub: StreamHub
    let hls: HLSStore

    func run() async throws {
        // Ticks on a fixed schedule, so a late wake-up does not push every later sample back.
        var tick = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = ContinuousClock.now
            for stream in hub.liveStreams { stream.sample(at: now) }
            for output in hls.all { output.delivery.sample(at: now) }
            tick = max(tick.advanced(by: .seconds(1)), now.advanced(by: .milliseconds(100)))
            try? await Task.sleep(until: tick, clock: .continuous)
        }
    }
}

import HLS
import LoopTicks
import NIOCore
import ServiceLifecycle
import StreamHub

/// Samples every live stream's counters once a second, so rates are measured over regular windows.
///
/// The samples are taken on an event loop's whole-second tick (`SecondTicker`), the wake-up its connections'
/// once-a-second checks already share, rather than by a task that wakes a thread of its own.
struct StatsService: Service {
    let hub: StreamHub
    let hls: HLSStore
    let eventLoop: any EventLoop

    func run() async throws {
        await cancelWhenGracefulShutdown { [hub, hls, eventLoop] in
            await SecondTicker.run(on: eventLoop) { _ in
                let now = ContinuousClock.now
                for stream in hub.liveStreams { stream.sample(at: now) }
                for output in hls.all { output.delivery.sample(at: now) }
            }
        }
    }
}

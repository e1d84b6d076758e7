import NIOCore

/// Runs a job on one event loop once a second, at the whole seconds of the loop's clock (`NIODeadline`), so every
/// once-a-second job of a loop shares one wake-up instead of waking it at the phase it was started at (measured:
/// `BENCHMARKS.md`). A late wake-up fires once and goes on at the next whole second; the first tick comes at least
/// half a second after the start. Not `Sendable`: made, ticked and cancelled on its loop only.
public final class SecondTicker {
    /// A tick: its deadline, and the time since the previous tick ran (or the start), what a rate is measured over.
    public struct Tick {
        public let deadline: NIODeadline
        public let elapsed: TimeAmount
    }

    private let eventLoop: any EventLoop
    private let job: (Tick) -> Void
    private var previous: NIODeadline
    private var scheduled: Scheduled<Void>?

    /// Starts ticking; call on `eventLoop`. The ticker runs until `cancel()` (it holds itself through its
    /// scheduled task, as a `RepeatedTask` does).
    public init(on eventLoop: any EventLoop, job: @escaping (Tick) -> Void) {
        self.eventLoop = eventLoop
        self.job = job
        self.previous = eventLoop.now
        schedule(Self.firstDeadline(after: previous))
    }

    /// Stops ticking; a tick already due does not run.
    public func cancel() {
        scheduled?.cancel()
        scheduled = nil
    }

    /// Ticks `job` on `eventLoop` until the calling task is cancelled: for services whose once-a-second work should
    /// ride the loop's shared wake-up instead of waking a thread of the global executor at a phase of its own.
    public static func run(on eventLoop: any EventLoop, job: @escaping @Sendable (Tick) -> Void) async {
        guard let ticker = try? await eventLoop.submit({ NIOLoopBound(SecondTicker(on: eventLoop, job: job), eventLoop: eventLoop) }).get()
        else { return }
        // An hour's sleep wakes nothing in between; cancellation ends it at once.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        // Cancelled on the loop before returning: no tick runs after the service has stopped.
        try? await eventLoop.submit { ticker.value.cancel() }.get()
    }

    /// The whole second strictly after `time` (ns of the monotonic clock).
    static func nextWholeSecond(after time: NIODeadline) -> NIODeadline {
        let second: UInt64 = 1_000_000_000
        return .uptimeNanoseconds((time.uptimeNanoseconds / second + 1) * second)
    }

    /// The first whole second at least half a second after `start`: a job's first window is never a sliver.
    static func firstDeadline(after start: NIODeadline) -> NIODeadline {
        nextWholeSecond(after: start + .milliseconds(500) - .nanoseconds(1))
    }

    private func schedule(_ deadline: NIODeadline) {
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            guard scheduled != nil else { return }
            let now = eventLoop.now
            let tick = Tick(deadline: deadline, elapsed: now - previous)
            previous = now
            // The next whole second after now, not after this deadline: a wake-up late by seconds fires once.
            schedule(Self.nextWholeSecond(after: max(deadline, now)))
            job(tick)
        }
    }
}

import NIOCore

/// Runs a job on one event loop once a second, at the whole seconds of the loop's clock (`NIODeadline`'s
/// monotonic nanoseconds), so every once-a-second job of a loop shares one wake-up.
///
/// NIO runs every task that is due when its loop wakes, so jobs whose deadlines are equal cost one wake-up between
/// them. With `scheduleRepeatedTask`, each job keeps the phase it was started at: a loop with a publisher, a push
/// target and a hundred idle viewers woke at a hundred and two moments a second; with tickers it wakes once (the
/// kernel's `round_jiffies` idea). An idle wake-up is not cheap: on the bench VM a lone stream's loop spends 250–330 µs
/// of CPU per wake-up, most of it cold caches.
///
/// A late wake-up fires once, for the next whole second after it, rather than catching up. The first tick comes at
/// least half a second after the start, so every interval a job sees is 0.5–1.5 s, and later ones about 1 s.
/// Not `Sendable`: made, ticked and cancelled on its loop only.
public final class SecondTicker {
    /// A tick: its deadline, and the time since the previous tick's deadline (or the start).
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
        eventLoop.execute { ticker.value.cancel() }
    }

    /// The whole second strictly after `time` (ns of the monotonic clock).
    public static func nextWholeSecond(after time: NIODeadline) -> NIODeadline {
        let second: UInt64 = 1_000_000_000
        return .uptimeNanoseconds((time.uptimeNanoseconds / second + 1) * second)
    }

    /// The first whole second at least half a second after `start`: a job's first window is never a sliver.
    public static func firstDeadline(after start: NIODeadline) -> NIODeadline {
        nextWholeSecond(after: start + .milliseconds(500) - .nanoseconds(1))
    }

    private func schedule(_ deadline: NIODeadline) {
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            guard scheduled != nil else { return }
            let tick = Tick(deadline: deadline, elapsed: deadline - previous)
            previous = deadline
            // The next whole second after now, not after this deadline: a wake-up late by seconds fires once.
            schedule(Self.nextWholeSecond(after: max(deadline, eventLoop.now)))
            job(tick)
        }
    }
}

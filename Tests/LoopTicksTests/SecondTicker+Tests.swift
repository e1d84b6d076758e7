import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

@testable import LoopTicks

@Suite struct SecondTickerTests {
    private static func at(_ ms: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(ms) * 1_000_000) }

    @Test func deadlinesAreWholeSecondsAndTheFirstWindowIsNeverASliver() {
        #expect(SecondTicker.nextWholeSecond(after: Self.at(0)) == Self.at(1000))
        #expect(SecondTicker.nextWholeSecond(after: Self.at(999)) == Self.at(1000))
        #expect(SecondTicker.nextWholeSecond(after: Self.at(1000)) == Self.at(2000), "strictly after")
        #expect(SecondTicker.firstDeadline(after: Self.at(300)) == Self.at(1000))
        #expect(SecondTicker.firstDeadline(after: Self.at(500)) == Self.at(1000), "exactly half a second is enough")
        #expect(SecondTicker.firstDeadline(after: Self.at(501)) == Self.at(2000))
        #expect(SecondTicker.firstDeadline(after: Self.at(999)) == Self.at(2000))
    }

    /// Two jobs started at different phases share every tick from the second whole second on, and a cancelled
    /// one stops at once, even when cancelled from inside a tick.
    @Test func tickersOfOneLoopShareTheirDeadlinesAndStopWhenCancelled() {
        let loop = EmbeddedEventLoop()
        var a: [(NIODeadline, TimeAmount)] = []
        var b: [(NIODeadline, TimeAmount)] = []
        loop.advanceTime(to: Self.at(300))
        var tickerA: SecondTicker?
        tickerA = SecondTicker(on: loop) { tick in
            a.append((tick.deadline, tick.elapsed))
            if a.count == 3 { tickerA?.cancel() }
        }
        loop.advanceTime(to: Self.at(800))
        let tickerB = SecondTicker(on: loop) { tick in b.append((tick.deadline, tick.elapsed)) }
        loop.advanceTime(to: Self.at(5000))
        #expect(a.map(\.0) == [Self.at(1000), Self.at(2000), Self.at(3000)])
        #expect(a.map(\.1) == [.milliseconds(700), .seconds(1), .seconds(1)])
        #expect(b.map(\.0) == [Self.at(2000), Self.at(3000), Self.at(4000), Self.at(5000)])
        #expect(b.map(\.1) == [.milliseconds(1200), .seconds(1), .seconds(1), .seconds(1)])
        tickerB.cancel()
        loop.advanceTime(to: Self.at(9000))
        #expect(b.count == 4, "no tick after cancel")
    }

    /// A loop busy past a whole second does not catch up with a burst of ticks: the late tick fires once, and the
    /// next comes at the next whole second after it ran.
    @Test func aLateWakeUpFiresOnceWithoutCatchingUp() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let deadlines = NIOLockedValueBox<[NIODeadline]>([])
        let ticker = try await loop.submit {
            NIOLoopBound(
                SecondTicker(on: loop) { tick in
                    let count = deadlines.withLockedValue { $0.append(tick.deadline); return $0.count }
                    // The first tick keeps the loop busy across the next two whole seconds.
                    if count == 1 { Thread.sleep(forTimeInterval: 2.2) }
                }, eventLoop: loop)
        }.get()
        try await waitUntil { deadlines.withLockedValue { $0.count >= 3 } }
        let seen = deadlines.withLockedValue { $0 }
        try await loop.submit { ticker.value.cancel() }.get()
        try await group.shutdownGracefully()
        for deadline in seen { #expect(deadline.uptimeNanoseconds % 1_000_000_000 == 0, "whole seconds") }
        let gaps = zip(seen, seen.dropFirst()).map { ($1 - $0).nanoseconds / 1_000_000_000 }
        // The second tick ran late (the first blocked past it); the next comes at a whole second after it ran.
        #expect(gaps.dropFirst().first ?? 0 >= 2, "the seconds the loop was busy were skipped, not replayed: \(gaps)")
        #expect(!gaps.contains(0), "never two ticks for one second")
    }

    /// Tickers of one loop share a deadline, so a real loop takes their tasks off its queue as one batch; a ticker
    /// cancelled by another one's job in that batch must not run (cancelling a task already taken off the queue does
    /// not stop it, hence the ticker's own guard).
    @Test func aTickerCancelledByAnotherInTheSameBatchDoesNotRun() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let ran = NIOLockedValueBox<[String]>([])
        let tickers = try await loop.submit {
            let box = NIOLoopBoundBox<[SecondTicker]>([], eventLoop: loop)
            for name in ["a", "b", "c"] {
                box.value.append(SecondTicker(on: loop) { _ in
                    ran.withLockedValue { $0.append(name) }
                    // Whoever runs first stops them all, itself included.
                    for ticker in box.value { ticker.cancel() }
                })
            }
            return box
        }.get()
        // The shared first tick is at most two seconds away; wait past it and one more.
        try await Task.sleep(for: .seconds(3.5))
        let made = try await loop.submit { tickers.value.count }.get()
        #expect(made == 3)
        try await group.shutdownGracefully()
        #expect(ran.withLockedValue { $0 }.count == 1, "one job ran, the cancelled ones did not: \(ran.withLockedValue { $0 })")
    }

    private func waitUntil(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !condition() {
            #expect(ContinuousClock.now < deadline, "timed out")
            if ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

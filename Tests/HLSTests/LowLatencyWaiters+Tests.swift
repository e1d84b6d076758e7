import Foundation
import Media
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import HLS

/// Requests parked on a stream until its low-latency rendition changes (`HLSStream.onLowLatencyChange`): each is
/// woken once, by a change or by its deadline, with one timer per stream for all of them. On an embedded loop,
/// whose clock moves only when the test moves it.
@Suite struct LowLatencyWaitersTests {
    final class Woken: Sendable {
        let ids = Mutex<[Int]>([])
        func add(_ id: Int) { ids.withLock { $0.append(id) } }
        var all: [Int] { ids.withLock { $0 } }
    }

    static func stream() -> HLSStream {
        HLSStream(path: StreamPath("live/wait")!, epoch: "e", windowSize: 6, targetDuration: 2, lowLatency: true)
    }

    @Test func eachWaiterWakesOnceAtItsDeadlineOrAtTheNextChange() throws {
        let loop = EmbeddedEventLoop()
        let stream = Self.stream()
        let woken = Woken()
        let version = try #require(stream.lowLatencyView()).version
        for (id, seconds) in [(1, 1), (2, 2), (3, 3)] {
            stream.onLowLatencyChange(after: version, until: loop.now + .seconds(Int64(seconds)), on: loop) { woken.add(id) }
        }
        loop.run()
        #expect(woken.all.isEmpty && stream.parkedRequests == 3)

        loop.advanceTime(by: .milliseconds(1500))
        #expect(woken.all == [1], "only the first deadline has come")
        #expect(stream.parkedRequests == 2)

        // A part lands: the rest are woken at once, before their deadlines.
        stream.fixPartTarget(0.2)
        loop.run()
        #expect(woken.all.sorted() == [1, 2, 3])
        #expect(stream.parkedRequests == 0)

        // Their deadlines pass: nobody is woken twice.
        loop.advanceTime(by: .seconds(5))
        #expect(woken.all.count == 3)
    }

    @Test func aWaiterForAVersionAlreadyGoneIsWokenAtOnce() throws {
        let loop = EmbeddedEventLoop()
        let stream = Self.stream()
        let woken = Woken()
        let version = try #require(stream.lowLatencyView()).version
        stream.fixPartTarget(0.2)
        stream.onLowLatencyChange(after: version, until: loop.now + .seconds(6), on: loop) { woken.add(1) }
        loop.run()
        #expect(woken.all == [1] && stream.parkedRequests == 0)
        // An ended stream parks nobody either.
        stream.setState(.ended)
        let now = try #require(stream.lowLatencyView()).version
        stream.onLowLatencyChange(after: now, until: loop.now + .seconds(6), on: loop) { woken.add(2) }
        loop.run()
        #expect(woken.all == [1, 2] && stream.parkedRequests == 0)
    }

    /// Thousands parked at once, with deadlines added out of order and while others expire: every one is woken
    /// exactly once, none before its deadline.
    @Test func manyWaitersAllExpireOnceAndInTime() throws {
        let loop = EmbeddedEventLoop()
        let stream = Self.stream()
        let version = try #require(stream.lowLatencyView()).version
        let start = loop.now
        let deadlines = Mutex<[Int: NIODeadline]>([:])
        let wokenAt = Mutex<[Int: NIODeadline]>([:])
        for id in 0..<3000 {
            // Deadlines 1 to 5 s out, in an order that is not sorted.
            let deadline = start + .milliseconds(Int64(1000 + (id * 7919) % 4000))
            deadlines.withLock { $0[id] = deadline }
            stream.onLowLatencyChange(after: version, until: deadline, on: loop) {
                wokenAt.withLock { $0[id] = $0[id] == nil ? loop.now : .distantPast }
            }
        }
        for _ in 0..<60 { loop.advanceTime(by: .milliseconds(100)) }
        let woken = wokenAt.withLock { $0 }
        let asked = deadlines.withLock { $0 }
        #expect(woken.count == 3000)
        #expect(woken.values.allSatisfy { $0 != .distantPast }, "a waiter was woken twice")
        #expect(woken.allSatisfy { id, at in at >= asked[id]! }, "a waiter was woken before its deadline")
        #expect(stream.parkedRequests == 0)
    }
}

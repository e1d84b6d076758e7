import Foundation
import Testing

@testable import Ingest

@Suite struct PublishAttemptLimiterTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func aBurstOfFailuresThenOnePerInterval() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        for _ in 0..<3 {
            #expect(limiter.retryAfter("198.51.100.7", now: start) == nil)
            limiter.recordFailure("198.51.100.7", now: start)
        }
        // Empty: 6 per minute is one every 10 s.
        #expect(close(limiter.retryAfter("198.51.100.7", now: start), 10))
        #expect(close(limiter.retryAfter("198.51.100.7", now: start.addingTimeInterval(4)), 6))
        #expect(limiter.retryAfter("198.51.100.7", now: start.addingTimeInterval(10)) == nil)
        limiter.recordFailure("198.51.100.7", now: start.addingTimeInterval(10))
        #expect(close(limiter.retryAfter("198.51.100.7", now: start.addingTimeInterval(10)), 10))
    }

    func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-9 } ?? false }

    @Test func addressesAreCountedApart() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 1)
        limiter.recordFailure("198.51.100.7", now: start)
        #expect(limiter.retryAfter("198.51.100.7", now: start) != nil)
        #expect(limiter.retryAfter("198.51.100.8", now: start) == nil)
    }

    @Test func forgivenAddressesAreForgotten() {
        var limiter = PublishAttemptLimiter(perMinute: 60, burst: 2)
        limiter.recordFailure("198.51.100.7", now: start)
        #expect(limiter.trackedAddresses == 1)
        #expect(limiter.retryAfter("198.51.100.7", now: start.addingTimeInterval(1)) == nil)
        #expect(limiter.trackedAddresses == 0)
    }

    @Test func connectionAddressLosesItsPortForCounting() {
        for (remote, ip) in [("127.0.0.1:50122", "127.0.0.1"), ("[::1]:4000", "[::1]"), ("unknown", "unknown")] {
            #expect(IngestConnection.ip(of: remote) == ip)
        }
    }
}

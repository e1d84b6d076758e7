import Foundation
import Testing

@testable import Ingest

@Suite struct PublishAttemptLimiterTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func refused(_ reservation: PublishAttemptLimiter.Reservation, after expected: Double) -> Bool {
        if case .refused(let wait) = reservation { return abs(wait - expected) < 1e-9 }
        return false
    }

    @Test func aBurstOfFailuresThenOnePerInterval() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        for _ in 0..<3 {
            #expect(limiter.reserve("198.51.100.7", now: start) == .admitted)
            limiter.fail("198.51.100.7", now: start)
        }
        // Empty: 6 per minute is one every 10 s.
        #expect(refused(limiter.reserve("198.51.100.7", now: start), after: 10))
        #expect(refused(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(4)), after: 6))
        #expect(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(10)) == .admitted)
        limiter.fail("198.51.100.7", now: start.addingTimeInterval(10))
        #expect(refused(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(10)), after: 10))
    }

    /// Parallel attempts each take their token before any key is checked: the burst bounds them all. The others
    /// wait while those are checked, and are refused once they all failed.
    @Test func parallelAttemptsShareTheBurst() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        let answers = (0..<500).map { _ in limiter.reserve("198.51.100.7", now: start) }
        #expect(answers.filter { $0 == .admitted }.count == 3)
        #expect(answers.dropFirst(3).allSatisfy { $0 == .busy(retryAfter: 10) })
        for _ in 0..<3 { limiter.fail("198.51.100.7", now: start) }
        #expect(refused(limiter.reserve("198.51.100.7", now: start), after: 10))
    }

    /// Twenty good publishes at once from one address (a studio behind NAT) with a burst of 3: each waits for a
    /// token while others are checked, and every one goes ahead; nothing is refused.
    @Test func parallelGoodKeysAreAllAdmitted() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        var waiting = 20, checking = 0, admitted = 0
        while waiting > 0 || checking > 0 {
            while waiting > 0, limiter.reserve("198.51.100.7", now: start) == .admitted {
                waiting -= 1
                checking += 1
            }
            if waiting > 0 { #expect(limiter.reserve("198.51.100.7", now: start) == .busy(retryAfter: 10)) }
            limiter.refund("198.51.100.7", now: start)
            checking -= 1
            admitted += 1
        }
        #expect(admitted == 20)
        #expect(limiter.trackedAddresses == 0)
    }

    @Test func goodKeysGiveTheirTokenBack() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 2)
        for _ in 0..<10 {
            #expect(limiter.reserve("198.51.100.7", now: start) == .admitted)
            limiter.refund("198.51.100.7", now: start)
        }
        #expect(limiter.trackedAddresses == 0)
    }

    /// An IPv6 client counts by its /64: addresses hopped through inside one's own prefix share one budget, and
    /// the next /64 has its own.
    @Test func ipv6AddressesCountByTheirSlash64() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 2)
        #expect(limiter.reserve("2001:db8:1:2::1", now: start) == .admitted)
        #expect(limiter.reserve("2001:db8:1:2:ffff:ffff:ffff:fffe", now: start) == .admitted)
        for _ in 0..<2 { limiter.fail("2001:db8:1:2::1", now: start) }
        #expect(limiter.reserve("2001:0db8:0001:0002:0000:0000:0000:0009", now: start) != .admitted)
        #expect(limiter.reserve("2001:db8:1:3::1", now: start) == .admitted)
        #expect(limiter.trackedAddresses == 2)
    }

    @Test(arguments: [
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:0:0:8:800:200C:417A", "2001:db8:0:0::/64"),
        ("::1", "0:0:0:0::/64"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("198.51.100.7", "198.51.100.7"),
        ("not an address", "not an address"),
        ("2001:db8::g", "2001:db8::g"),
    ])
    func clientOfAnAddress(address: String, client: String) {
        #expect(PublishAttemptLimiter.client(address) == client)
    }

    @Test func addressesAreCountedApart() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 1)
        _ = limiter.reserve("198.51.100.7", now: start)
        limiter.fail("198.51.100.7", now: start)
        #expect(limiter.reserve("198.51.100.7", now: start) != .admitted)
        #expect(limiter.reserve("198.51.100.8", now: start) == .admitted)
    }

    @Test func manyAddressesAreSweptOnceForgiven() {
        var limiter = PublishAttemptLimiter(perMinute: 60, burst: 2)
        for i in 0..<3000 {
            let address = "10.0.\(i / 256).\(i % 256)", now = start.addingTimeInterval(Double(i) / 1000)
            _ = limiter.reserve(address, now: now)
            limiter.fail(address, now: now)
        }
        // Each address is forgiven within a second: the table holds only the last second's or so, not 3000.
        #expect(limiter.trackedAddresses < 2100)
        _ = limiter.reserve("192.0.2.1", now: start.addingTimeInterval(60))
    }

    @Test func connectionAddressLosesItsPortForCounting() {
        for (remote, ip) in [("127.0.0.1:50122", "127.0.0.1"), ("[::1]:4000", "[::1]"), ("unknown", "unknown")] {
            #expect(IngestConnection.ip(of: remote) == ip)
        }
    }
}

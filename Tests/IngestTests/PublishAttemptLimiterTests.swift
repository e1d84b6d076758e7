import Foundation
import Testing

@testable import Ingest

@Suite struct PublishAttemptLimiterTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-9 } ?? false }

    @Test func aBurstOfFailuresThenOnePerInterval() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        for _ in 0..<3 { #expect(limiter.reserve("198.51.100.7", now: start) == nil) }
        // Empty: 6 per minute is one every 10 s.
        #expect(close(limiter.reserve("198.51.100.7", now: start), 10))
        #expect(close(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(4)), 6))
        #expect(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(10)) == nil)
        #expect(close(limiter.reserve("198.51.100.7", now: start.addingTimeInterval(10)), 10))
    }

    /// Parallel attempts each take their token before any key is checked: the burst bounds them all.
    @Test func parallelAttemptsShareTheBurst() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 3)
        let admitted = (0..<500).filter { _ in limiter.reserve("198.51.100.7", now: start) == nil }
        #expect(admitted.count == 3)
    }

    @Test func goodKeysGiveTheirTokenBack() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 2)
        for _ in 0..<10 {
            #expect(limiter.reserve("198.51.100.7", now: start) == nil)
            limiter.refund("198.51.100.7", now: start)
        }
        #expect(limiter.trackedAddresses == 0)
    }

    /// An IPv6 client counts by its /64: addresses hopped through inside one's own prefix share one budget, and
    /// the next /64 has its own.
    @Test func ipv6AddressesCountByTheirSlash64() {
        var limiter = PublishAttemptLimiter(perMinute: 6, burst: 2)
        #expect(limiter.reserve("2001:db8:1:2::1", now: start) == nil)
        #expect(limiter.reserve("2001:db8:1:2:ffff:ffff:ffff:fffe", now: start) == nil)
        #expect(limiter.reserve("2001:0db8:0001:0002:0000:0000:0000:0009", now: start) != nil)
        #expect(limiter.reserve("2001:db8:1:3::1", now: start) == nil)
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
        #expect(limiter.reserve("198.51.100.7", now: start) != nil)
        #expect(limiter.reserve("198.51.100.8", now: start) == nil)
    }

    @Test func manyAddressesAreSweptOnceForgiven() {
        var limiter = PublishAttemptLimiter(perMinute: 60, burst: 2)
        for i in 0..<3000 { _ = limiter.reserve("10.0.\(i / 256).\(i % 256)", now: start.addingTimeInterval(Double(i) / 1000)) }
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

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import NIOConcurrencyHelpers

/// Slows stream-key guessing: each client address may fail `burst` publish attempts at once, then one per
/// `1 / rate` seconds. Pure: time is passed in. Addresses are IPs without the port, so reconnecting does not reset
/// them, and IPv6 addresses count by their /64 (one subscriber's prefix: RFC 6177), so hopping through the
/// addresses of one's own network does not reset them either.
///
/// An attempt takes its token before the key is looked up (`reserve`) and gets it back when the key was good
/// (`refund`), so a client that sends many publishes at once on parallel connections still gets only `burst`
/// guesses, not one per connection.
public struct PublishAttemptLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    private var buckets: [String: (tokens: Double, updated: Date)] = [:]
    /// Forgiven addresses are swept out when the table grows past this (then it doubles), so a sweep is rare.
    private var sweepAt = 1024

    /// `perMinute` failures per minute on average, `burst` at once.
    public init(perMinute: Double = 10, burst: Double = 10) {
        self.rate = perMinute / 60
        self.burst = burst
    }

    /// Takes an attempt for `address`: nil when it may go ahead (and one token is spent), else seconds to wait.
    public mutating func reserve(_ address: String, now: Date) -> Double? {
        let address = Self.client(address)
        var bucket = refilled(address, now: now)
        guard bucket.tokens >= 1 else {
            buckets[address] = bucket
            return (1 - bucket.tokens) / rate
        }
        bucket.tokens -= 1
        buckets[address] = bucket
        sweepIfLarge(now: now)
        return nil
    }

    /// Gives back the token of an attempt that did not fail (a good key, or a lookup that broke on our side).
    public mutating func refund(_ address: String, now: Date) {
        let address = Self.client(address)
        var bucket = refilled(address, now: now)
        bucket.tokens = min(burst, bucket.tokens + 1)
        buckets[address] = bucket.tokens >= burst ? nil : bucket
    }

    /// Whom `address` counts against: an IPv4 address as it is (also when IPv4-mapped, `::ffff:a.b.c.d`), an IPv6
    /// address as its /64 (`2001:db8:1:2::/64`), anything else as it is.
    public static func client(_ address: String) -> String {
        var v6 = in6_addr()
        guard address.contains(":"), inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    /// Addresses with failures not yet forgiven (what the limiter holds in memory).
    public var trackedAddresses: Int { buckets.count }

    private func refilled(_ address: String, now: Date) -> (tokens: Double, updated: Date) {
        guard let bucket = buckets[address] else { return (burst, now) }
        return (min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate), now)
    }

    private mutating func sweepIfLarge(now: Date) {
        guard buckets.count > sweepAt else { return }
        buckets = buckets.filter { min(burst, $0.value.tokens + now.timeIntervalSince($0.value.updated) * rate) < burst }
        sweepAt = max(1024, buckets.count * 2)
    }
}

/// The limiter shared by every ingest connection (they run on different event loops).
public final class PublishAttemptGate: Sendable {
    private let limiter: NIOLockedValueBox<PublishAttemptLimiter>
    /// Publishes refused because their address had failed too often.
    public let refused = Atomic<Int>(0)

    public init(perMinute: Double = 10, burst: Double = 10) {
        limiter = NIOLockedValueBox(PublishAttemptLimiter(perMinute: perMinute, burst: burst))
    }

    public func reserve(_ address: String, now: Date = Date()) -> Double? {
        limiter.withLockedValue { $0.reserve(address, now: now) }
    }

    public func refund(_ address: String, now: Date = Date()) {
        limiter.withLockedValue { $0.refund(address, now: now) }
    }
}

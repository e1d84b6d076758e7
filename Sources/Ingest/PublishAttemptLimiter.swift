import Foundation
import Synchronization

/// Slows stream-key guessing: each client address may fail `burst` publish attempts at once, then one per
/// `1 / rate` seconds. While an address has no attempt left, its publishes are refused before any key is looked
/// up. Pure: time is passed in. Addresses are IPs without the port, so reconnecting does not reset them.
public struct PublishAttemptLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    private var buckets: [String: (tokens: Double, updated: Date)] = [:]

    /// `perMinute` failures per minute on average, `burst` at once.
    public init(perMinute: Double = 10, burst: Double = 10) {
        self.rate = perMinute / 60
        self.burst = burst
    }

    /// Seconds until `address` may try again, or nil when it may try now.
    public mutating func retryAfter(_ address: String, now: Date) -> Double? {
        guard var bucket = buckets[address] else { return nil }
        bucket.tokens = min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
        bucket.updated = now
        if bucket.tokens >= burst {
            buckets[address] = nil
            return nil
        }
        buckets[address] = bucket
        return bucket.tokens >= 1 ? nil : (1 - bucket.tokens) / rate
    }

    /// Counts a failed attempt (an unknown key) against `address`.
    public mutating func recordFailure(_ address: String, now: Date) {
        _ = retryAfter(address, now: now)
        var bucket = buckets[address] ?? (burst, now)
        bucket.tokens = max(0, bucket.tokens - 1)
        bucket.updated = now
        buckets[address] = bucket
        // Many addresses guessing at once: forget the ones already forgiven, so memory stays bounded by recent failures.
        if buckets.count > Self.sweepThreshold {
            buckets = buckets.filter { min(burst, $0.value.tokens + now.timeIntervalSince($0.value.updated) * rate) < burst }
        }
    }

    static let sweepThreshold = 10_000

    /// Addresses with failures not yet forgiven (what the limiter holds in memory).
    public var trackedAddresses: Int { buckets.count }
}

/// The limiter shared by every ingest connection (they run on different event loops).
public final class PublishAttemptGate: Sendable {
    private let limiter: Mutex<PublishAttemptLimiter>
    /// Publishes refused because their address had failed too often.
    public let refused = Atomic<Int>(0)

    public init(perMinute: Double = 10, burst: Double = 10) {
        limiter = Mutex(PublishAttemptLimiter(perMinute: perMinute, burst: burst))
    }

    public func retryAfter(_ address: String, now: Date = Date()) -> Double? {
        limiter.withLock { $0.retryAfter(address, now: now) }
    }

    public func recordFailure(_ address: String, now: Date = Date()) {
        limiter.withLock { $0.recordFailure(address, now: now) }
    }
}

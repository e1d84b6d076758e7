import Foundation

/// A token bucket per stream: `rate` cues per second on average, bursts up to `burst`. Pure: time is passed in.
public struct RateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    private var buckets: [String: (tokens: Double, updated: Date)] = [:]

    public init(rate: Double = 10, burst: Double = 20) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes a token for `key`; on refusal returns how long until one is available.
    public mutating func take(_ key: String, now: Date) -> Result<Void, RetryAfter> {
        var bucket = buckets[key] ?? (burst, now)
        bucket.tokens = min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
        bucket.updated = now
        defer { buckets[key] = bucket }
        guard bucket.tokens >= 1 else { return .failure(RetryAfter(seconds: (1 - bucket.tokens) / rate)) }
        bucket.tokens -= 1
        return .success(())
    }

    public struct RetryAfter: Error, Sendable, Equatable {
        public var seconds: Double
    }
}

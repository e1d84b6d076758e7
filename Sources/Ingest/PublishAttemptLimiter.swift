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
/// An attempt takes its token before the key is looked up (`reserve`), gets it back when the key was good
/// (`refund`) and loses it when the key was unknown (`fail`), so a client that sends many publishes at once on
/// parallel connections still gets only `burst` guesses, not one per connection. An attempt that finds the tokens
/// all taken by attempts still being checked is told to wait for them (`busy`) rather than refused: a studio behind
/// one address that starts 20 streams at once with good keys gets all 20.
public struct PublishAttemptLimiter: Sendable {
    public enum Reservation: Sendable, Equatable {
        /// Go ahead: one token is taken until `refund` or `fail`.
        case admitted
        /// Every token is held by attempts still being checked: ask again when one settles. `retryAfter` (s) is
        /// what to tell the client if they all turn out to be failures.
        case busy(retryAfter: Double)
        /// Failed too often: seconds until the next attempt may go.
        case refused(retryAfter: Double)
    }

    public let rate: Double
    public let burst: Double
    private var buckets: [String: Bucket] = [:]
    /// Forgiven addresses are swept out when the table grows past this (then it doubles), so a sweep is rare.
    private var sweepAt = 1024

    private struct Bucket {
        var tokens: Double
        var updated: Date
        /// Attempts admitted and not yet settled.
        var checking = 0
    }

    /// `perMinute` failures per minute on average, `burst` at once.
    public init(perMinute: Double = 10, burst: Double = 10) {
        self.rate = perMinute / 60
        self.burst = burst
    }

    /// Takes an attempt for `address` (see `Reservation`).
    public mutating func reserve(_ address: String, now: Date) -> Reservation {
        let address = Self.client(address)
        var bucket = refilled(address, now: now)
        guard bucket.tokens >= 1 else {
            buckets[address] = bucket
            let wait = (1 - bucket.tokens) / rate
            return bucket.checking > 0 ? .busy(retryAfter: wait) : .refused(retryAfter: wait)
        }
        bucket.tokens -= 1
        bucket.checking += 1
        buckets[address] = bucket
        sweepIfLarge(now: now)
        return .admitted
    }

    /// Gives back the token of an attempt that did not fail (a good key, or a lookup that broke on our side).
    public mutating func refund(_ address: String, now: Date) {
        let address = Self.client(address)
        var bucket = refilled(address, now: now)
        bucket.tokens = min(burst, bucket.tokens + 1)
        bucket.checking = max(0, bucket.checking - 1)
        buckets[address] = bucket.tokens >= burst && bucket.checking == 0 ? nil : bucket
    }

    /// Settles an attempt that failed (an unknown key): its token stays spent.
    public mutating func fail(_ address: String, now: Date) {
        let address = Self.client(address)
        var bucket = refilled(address, now: now)
        bucket.checking = max(0, bucket.checking - 1)
        buckets[address] = bucket
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

    private func refilled(_ address: String, now: Date) -> Bucket {
        guard let bucket = buckets[address] else { return Bucket(tokens: burst, updated: now) }
        return Bucket(
            tokens: min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate), updated: now,
            checking: bucket.checking)
    }

    private mutating func sweepIfLarge(now: Date) {
        guard buckets.count > sweepAt else { return }
        buckets = buckets.filter {
            $0.value.checking > 0 || min(burst, $0.value.tokens + now.timeIntervalSince($0.value.updated) * rate) < burst
        }
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

    /// Takes an attempt for `address`, waiting (up to `patience`) while its tokens are held by attempts still
    /// being checked. nil: go ahead, and settle with `refund` or `fail`; else seconds the client must wait.
    public func admit(_ address: String, patience: Duration = .seconds(10)) async -> Double? {
        let deadline = ContinuousClock.now + patience
        while true {
            switch limiter.withLockedValue({ $0.reserve(address, now: Date()) }) {
            case .admitted: return nil
            case .refused(let wait): return wait
            case .busy(let wait):
                // A key lookup takes milliseconds; polling keeps the limiter pure and lock-free to wait on.
                guard ContinuousClock.now < deadline else { return wait }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    public func refund(_ address: String, now: Date = Date()) {
        limiter.withLockedValue { $0.refund(address, now: now) }
    }

    public func fail(_ address: String, now: Date = Date()) {
        limiter.withLockedValue { $0.fail(address, now: now) }
    }
}

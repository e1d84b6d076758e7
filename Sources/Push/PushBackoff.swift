/// When a push tries again (pure): after an error 1 s, doubling to 30 s, each with ±20 % jitter so targets that
/// failed together do not reconnect together; back to 1 s once a connection stayed live for 60 s. A refused key
/// is tried again only every 5 minutes (or when the target is switched off and on).
public struct PushBackoff: Sendable {
    public static let first = 1.0
    public static let longest = 30.0
    public static let afterRefusal = 300.0
    /// Seconds live after which the next failure starts from `first` again.
    public static let resetAfter = 60.0

    public private(set) var failures = 0

    public init() {}

    /// Seconds to wait after a failure, `random` in 0..<1 choosing the jitter.
    public mutating func delayAfterFailure(random: Double = Double.random(in: 0..<1)) -> Double {
        let base = min(Self.longest, Self.first * Double(1 << min(failures, 10)))
        failures += 1
        return base * (0.8 + 0.4 * random)
    }

    /// A connection that stayed live this long resets the sequence.
    public mutating func wasLive(for seconds: Double) {
        if seconds >= Self.resetAfter { failures = 0 }
    }

    public mutating func reset() { failures = 0 }
}

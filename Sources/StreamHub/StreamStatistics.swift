import Foundation

/// Rates measured from a stream's counters, sampled once a second.
public struct StreamStatistics: Sendable, Codable, Equatable {
    public struct Rates: Sendable, Codable, Equatable {
        /// Bits per second of payload over the last 1 s and 10 s.
        public var videoBitsPerSecond1s: Double?
        public var videoBitsPerSecond10s: Double?
        public var audioBitsPerSecond1s: Double?
        public var audioBitsPerSecond10s: Double?
        /// Video frames per second actually received over the last 10 s (not the declared rate).
        public var frameRate: Double?
    }

    public var rates: Rates
    public var keyframeIntervalMean: Double?
    public var keyframeIntervalMax: Double?
    /// Latest video DTS minus latest audio DTS, seconds.
    public var avDrift: Double?
}

/// Per-second samples of a stream's counters; rates come from the difference between samples.
struct CounterSamples: Sendable {
    struct Sample: Sendable {
        var time: ContinuousClock.Instant
        var videoBytes: Int
        var audioBytes: Int
        var videoFrames: Int
    }

    private(set) var samples: [Sample] = []
    static let kept = 12

    mutating func add(_ sample: Sample) {
        samples.append(sample)
        if samples.count > Self.kept { samples.removeFirst(samples.count - Self.kept) }
    }

    /// Rates between the newest sample and the oldest one at most `window` seconds older than it.
    func rates() -> StreamStatistics.Rates {
        guard let newest = samples.last else { return .init() }
        // The 1 s rate spans the latest sampling interval whatever its length (a busy machine wakes the sampler
        // late); longer windows take the oldest sample inside them.
        func base(_ window: Double) -> Sample? {
            if window <= 1 {
                return samples.dropLast().last.flatMap { newest.time - $0.time <= .seconds(3) ? $0 : nil }
            }
            return samples.first { newest.time - $0.time <= .milliseconds(Int64(window * 1000) + 200) && $0.time < newest.time }
        }
        func rate(_ window: Double, _ value: (Sample) -> Int, scale: Double) -> Double? {
            guard let old = base(window) else { return nil }
            let elapsed = newest.time - old.time
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(value(newest) - value(old)) * scale / seconds : nil
        }
        return .init(
            videoBitsPerSecond1s: rate(1, \.videoBytes, scale: 8), videoBitsPerSecond10s: rate(10, \.videoBytes, scale: 8),
            audioBitsPerSecond1s: rate(1, \.audioBytes, scale: 8), audioBitsPerSecond10s: rate(10, \.audioBytes, scale: 8),
            frameRate: rate(10, \.videoFrames, scale: 1))
    }
}

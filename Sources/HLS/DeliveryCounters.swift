import Synchronization
import NIOConcurrencyHelpers

/// What one stream's HLS output served: counted per request with relaxed atomics; rates come from the
/// once-a-second sampler, like the ingest rates.
public final class DeliveryCounters: Sendable {
    public struct Totals: Sendable, Equatable {
        public var playlistRequests = 0
        public var segmentRequests = 0
        public var bytesOut = 0
    }

    public struct Rates: Sendable, Equatable {
        public var playlistRequestsPerSecond: Double
        public var segmentRequestsPerSecond: Double
        public var bitsOutPerSecond: Double
    }

    private let playlists = Atomic<Int>(0)
    private let segments = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)
    private let sampled = NIOLockedValueBox<(last: (time: ContinuousClock.Instant, totals: Totals)?, rates: Rates?)>((nil, nil))

    public init() {}

    public func countPlaylist(bytes count: Int) {
        playlists.add(1, ordering: .relaxed)
        bytes.add(count, ordering: .relaxed)
    }

    public func countSegment(bytes count: Int) {
        segments.add(1, ordering: .relaxed)
        bytes.add(count, ordering: .relaxed)
    }

    public var totals: Totals {
        Totals(
            playlistRequests: playlists.load(ordering: .relaxed), segmentRequests: segments.load(ordering: .relaxed),
            bytesOut: bytes.load(ordering: .relaxed))
    }

    /// Rates over the interval between the two latest samples; nil until there are two.
    public var rates: Rates? { sampled.withLockedValue { $0.rates } }

    public func sample(at now: ContinuousClock.Instant) {
        let current = totals
        sampled.withLockedValue { state in
            if let last = state.last {
                let elapsed = now - last.time
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                if seconds > 0 {
                    state.rates = Rates(
                        playlistRequestsPerSecond: Double(current.playlistRequests - last.totals.playlistRequests) / seconds,
                        segmentRequestsPerSecond: Double(current.segmentRequests - last.totals.segmentRequests) / seconds,
                        bitsOutPerSecond: Double(current.bytesOut - last.totals.bytesOut) * 8 / seconds)
                }
            }
            state.last = (now, current)
        }
    }
}

/// The pace-setting track's frame interval, when it is steady enough to say when the next frame will come.
///
/// A low-latency part can then end with the frame that completes it, instead of when the next frame arrives one
/// interval later (33 ms at 30 fps, most of a part's availability delay). RTMP times are whole milliseconds, so
/// a steady 30 fps arrives as 33, 33, 34 ms: intervals within `tolerance` of their mean count as steady, and the
/// forecast is the shortest of them, so the next frame comes at or just after it (a millisecond's gap at most),
/// never before. A frame drop, a variable-rate encoder or a timestamp jump makes it unsteady until `window`
/// regular intervals have been seen again.
struct FrameCadence {
    /// Intervals looked at, and how far (in the timestamps' unit) one may stray from their mean.
    let window: Int
    let tolerance: Int64
    private var intervals: [Int64] = []
    private var lastDTS: Int64?

    /// `tolerance` in the timestamps' unit (90 kHz in the remuxer: 2 ms is 180).
    init(window: Int = 8, tolerance: Int64 = 180) {
        self.window = window
        self.tolerance = tolerance
        intervals.reserveCapacity(window)
    }

    /// The earliest decode time the next frame can have when the cadence is steady (the last frame's plus the
    /// shortest recent interval), or nil.
    var nextEarliest: Int64? {
        guard let lastDTS, let interval = expectedInterval else { return nil }
        return lastDTS + interval
    }

    /// Notes a frame's decode time (in decode order).
    mutating func note(dts: Int64) {
        defer { lastDTS = dts }
        guard let lastDTS else { return }
        guard dts > lastDTS else {
            intervals.removeAll(keepingCapacity: true)
            return
        }
        if intervals.count == window { intervals.removeFirst() }
        intervals.append(dts - lastDTS)
    }

    /// The interval the next frame should not come before (the shortest recent one), or nil while the cadence is
    /// not known to be steady.
    var expectedInterval: Int64? {
        guard intervals.count == window else { return nil }
        let total = intervals.reduce(0, +)
        let mean = (total + Int64(window) / 2) / Int64(window)
        guard intervals.allSatisfy({ abs($0 - mean) <= tolerance }) else { return nil }
        return intervals.min()
    }
}

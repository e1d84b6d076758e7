/// Extends RTMP's 32-bit millisecond timestamps to 64 bits across wrap-around (every ~49.7 days, or at once for
/// encoders that start near the top).
public struct TimestampUnwrapper: Sendable {
    private var last: UInt32?
    private var epoch: Int64 = 0

    public init() {}

    public mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        if let last {
            // A jump backwards by more than half the range is a wrap; a jump forward by as much is a late packet
            // from before the wrap.
            if timestamp < last, last - timestamp > UInt32.max / 2 {
                epoch += 1 << 32
            } else if timestamp > last, timestamp - last > UInt32.max / 2 {
                return epoch - (1 << 32) + Int64(timestamp)
            }
        }
        last = timestamp
        return epoch + Int64(timestamp)
    }
}

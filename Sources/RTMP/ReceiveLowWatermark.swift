/// How many bytes the kernel holds in a publisher's socket before it wakes the server (`SO_RCVLOWAT`).
///
/// A publisher sends each audio and video frame as it is encoded, 70 to 100 small writes a second. Woken for
/// each, the server spends more on wake-ups (epoll, one read, NIO's pipeline) than on the bytes: at 50
/// publishers, half its CPU (measured: `BENCHMARKS.md`). Waiting for `milliseconds` of the stream's bytes (30 by
/// default, `--publish-gather-ms`) takes several messages per wake-up. The mark is bytes, not time: a small frame
/// waits for the next one or two to reach it. Measured at 2.5 Mbit/s, 30 fps, one push target: 20 ms woke the
/// server 32 times a second, 30 ms 23 times, for a quarter less CPU; the delay to the target was p50 0.75 ms and
/// 1.0 ms, p99 34 and 35 ms (one frame interval) either way. 0 leaves the socket waking on every byte, for the
/// lowest delay. (SRS's "merged read" makes the same trade.)
///
/// Bytes below the mark wait in the socket until more arrive. So the mark follows the measured rate, is off
/// (1) for slow streams and when nothing arrived for a second (which also frees whatever waited), and the
/// server acknowledges that much before a window fills (`AcknowledgementWindow`), since publishers like OBS
/// stop sending at a full window.
public struct ReceiveLowWatermark: Sendable, Equatable {
    /// The most bytes ever held back.
    public static let maximum = 16 * 1024
    /// Below this the mark is not worth a system call: the stream is slow, and wake-ups few anyway.
    public static let minimum = 1024
    /// The default share of the stream to wait for, in ms of its bytes.
    public static let defaultMilliseconds = 30
    /// What may be asked for: 0 (off) to 100 ms, beyond which a player would see frames arrive in bursts.
    public static let millisecondsRange = 0...100

    /// Milliseconds of the stream's bytes to wait for; 0 leaves the socket waking on every byte.
    public let milliseconds: Int

    /// The mark in force; 1 is the kernel's default, wake on any byte.
    public private(set) var bytes = 1

    /// `milliseconds` is clamped to `millisecondsRange`.
    public init(milliseconds: Int = Self.defaultMilliseconds) {
        self.milliseconds = min(max(milliseconds, Self.millisecondsRange.lowerBound), Self.millisecondsRange.upperBound)
    }

    /// Takes the bytes read in the last second (and the peer's acknowledgement window, if set); returns the new
    /// mark when it should change. Small moves are ignored so the socket is not reconfigured every second.
    public mutating func update(bytesInLastSecond: Int, windowSize: UInt32?) -> Int? {
        var target = min(bytesInLastSecond * milliseconds / 1000, Self.maximum)
        if let windowSize { target = min(target, Int(windowSize) / 4) }
        if target < Self.minimum { target = 1 }
        guard target != bytes, target == 1 || bytes == 1 || abs(target - bytes) * 4 > bytes else { return nil }
        bytes = target
        return target
    }
}

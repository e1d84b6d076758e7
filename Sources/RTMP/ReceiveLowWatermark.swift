/// How many bytes the kernel holds in a publisher's socket before it wakes the server (`SO_RCVLOWAT`).
///
/// A publisher sends each audio and video frame as it is encoded, 70 to 100 small writes a second. Woken for
/// each, the server spends more on wake-ups (epoll, one read, NIO's pipeline) than on the bytes: at 50
/// publishers, half its CPU (measured: `BENCHMARKS.md`). Waiting for about 20 ms of the stream's bytes takes
/// several frames per wake-up. The mark is bytes, not time: a run of small frames after a keyframe may take one or
/// two frame intervals to reach it (measured at 2.5 Mbit/s, 30 fps: p99 34 ms, at most 43 ms).
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
    /// The share of a second's bytes to wait for: 1/50, 20 ms.
    public static let secondFraction = 50

    /// The mark in force; 1 is the kernel's default, wake on any byte.
    public private(set) var bytes = 1

    public init() {}

    /// Takes the bytes read in the last second (and the peer's acknowledgement window, if set); returns the new
    /// mark when it should change. Small moves are ignored so the socket is not reconfigured every second.
    public mutating func update(bytesInLastSecond: Int, windowSize: UInt32?) -> Int? {
        var target = min(bytesInLastSecond / Self.secondFraction, Self.maximum)
        if let windowSize { target = min(target, Int(windowSize) / 4) }
        if target < Self.minimum { target = 1 }
        guard target != bytes, target == 1 || bytes == 1 || abs(target - bytes) * 4 > bytes else { return nil }
        bytes = target
        return target
    }
}

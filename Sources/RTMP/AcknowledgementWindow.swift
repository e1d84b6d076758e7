/// Counts received bytes and says when to send an Acknowledgement, as the peer's window asks.
///
/// Publishers such as OBS stop sending when a whole window goes unacknowledged, so this must be exact.
public struct AcknowledgementWindow: Sendable {
    public private(set) var windowSize: UInt32?
    public private(set) var received: UInt64 = 0
    private var lastAcknowledged: UInt64 = 0

    public init() {}

    public mutating func setWindow(_ size: UInt32) {
        windowSize = size > 0 ? size : nil
    }

    /// Adds bytes; returns the sequence number (total bytes, mod 2^32) to acknowledge, if a window filled up.
    ///
    /// `unread` is how many bytes may be waiting in the socket, not yet read (`ReceiveLowWatermark`): the
    /// acknowledgement goes out that much early, or a publisher that stops at a full window would wait for it
    /// forever.
    public mutating func add(_ count: Int, unread: Int = 0) -> UInt32? {
        received += UInt64(count)
        guard let windowSize, received - lastAcknowledged + UInt64(max(0, unread)) >= UInt64(windowSize) else { return nil }
        lastAcknowledged = received
        return UInt32(truncatingIfNeeded: received)
    }
}

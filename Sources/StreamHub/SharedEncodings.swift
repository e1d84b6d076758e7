import NIOCore
import NIOConcurrencyHelpers

/// The wire bytes made from one stream event, one per output format (an RTMP chunking at one chunk size, an FLV
/// tag): the first reader of a format encodes, every other reader of that format sends the same buffer.
///
/// Readers run on their own event loops, so the cache is shared between them; it is touched once per event per
/// reader, and holds one or two entries.
public final class SharedEncodings: Sendable {
    private let storage = NIOLockedValueBox<[(key: Int, bytes: ByteBuffer)]>([])

    public init() {}

    /// The bytes for format `key`, made by `encode` the first time and reused after; nil when `encode` says the
    /// event has no form in that format.
    public func bytes(for key: Int, encode: () -> ByteBuffer?) -> ByteBuffer? {
        storage.withLockedValue { entries in
            if let hit = entries.first(where: { $0.key == key }) { return hit.bytes }
            guard let made = encode() else { return nil }
            entries.append((key, made))
            return made
        }
    }
}

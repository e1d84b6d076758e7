import NIOCore
import Synchronization

/// The wire bytes made from one stream event, one per output format (an RTMP chunking at one chunk size, an FLV
/// tag): the first reader of a format encodes, every other reader of that format sends the same buffer.
///
/// Readers run on their own event loops, so the cache is shared between them; it is touched once per event per
/// reader, and holds one or two entries. Every event carries one, so it costs a single allocation: the lock is
/// stored inline (`Mutex`, no `pthread_mutex_t` to set up and tear down) and so is the first entry.
public final class SharedEncodings: Sendable {
    private struct Entries {
        var first: (key: Int, bytes: ByteBuffer)?
        var more: [(key: Int, bytes: ByteBuffer)] = []
    }

    private let storage = Mutex(Entries())

    public init() {}

    /// The bytes for format `key`, made by `encode` the first time and reused after; nil when `encode` says the
    /// event has no form in that format.
    public func bytes(for key: Int, encode: () -> ByteBuffer?) -> ByteBuffer? {
        storage.withLock { entries -> ByteBuffer? in
            if let first = entries.first {
                if first.key == key { return first.bytes }
                if let hit = entries.more.first(where: { $0.key == key }) { return hit.bytes }
            }
            guard let made = encode() else { return nil }
            if entries.first == nil { entries.first = (key, made) } else { entries.more.append((key, made)) }
            return made
        }
    }
}

import Media
import Synchronization

/// The readers of one stream path. They outlive publishes, so a reader attached before a publisher arrives
/// (a remuxer, a relay, a test) sees it from its first packet, and sees a republish too.
///
/// Each reader has a bounded queue: when it falls behind, new events are dropped and counted for it alone, so a
/// slow reader never slows the publisher or the other readers.
public final class StreamReaders: Sendable {
    struct Reader {
        var continuation: AsyncStream<StreamEvent>.Continuation
        var dropped: Int = 0
    }

    private let readers = Mutex<[Int: Reader]>([:])
    private let nextID = Atomic<Int>(0)
    private let droppedTotal = Atomic<Int>(0)

    init() {}

    /// A new reader with room for `capacity` events.
    public func makeReader(capacity: Int = 4096) -> AsyncStream<StreamEvent> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: StreamEvent.self, bufferingPolicy: .bufferingOldest(capacity))
        continuation.onTermination = { [weak self] _ in
            self?.readers.withLock { _ = $0.removeValue(forKey: id) }
        }
        readers.withLock { $0[id] = Reader(continuation: continuation) }
        return stream
    }

    public var count: Int { readers.withLock { $0.count } }

    /// Events dropped across all readers because their queues were full.
    public var droppedEvents: Int { droppedTotal.load(ordering: .relaxed) }

    func deliver(_ event: StreamEvent) {
        readers.withLock { readers in
            for (id, reader) in readers {
                if case .dropped = reader.continuation.yield(event) {
                    readers[id]?.dropped += 1
                    droppedTotal.add(1, ordering: .relaxed)
                }
            }
        }
    }
}

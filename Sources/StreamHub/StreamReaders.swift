import Media
import Synchronization

/// The readers of one stream path. They outlive publishes, so a reader attached before a publisher arrives
/// (a remuxer, a relay, a test) sees it from its first packet, and sees a republish too.
///
/// Each reader has a bounded queue: when it falls behind, new events are dropped and counted for it alone, so a
/// slow reader never slows the publisher or the other readers. Subscribers take events synchronously instead.
public final class StreamReaders: Sendable {
    struct Reader {
        var continuation: AsyncStream<StreamEvent>.Continuation
        var dropped: Int = 0
    }

    struct Attached {
        var readers: [Int: Reader] = [:]
        var subscribers: [any StreamSubscriber] = []
    }

    private let attached = Mutex(Attached())
    private let nextID = Atomic<Int>(0)
    private let droppedTotal = Atomic<Int>(0)

    init() {}

    /// A new reader with room for `capacity` events.
    public func makeReader(capacity: Int = 4096) -> AsyncStream<StreamEvent> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: StreamEvent.self, bufferingPolicy: .bufferingOldest(capacity))
        continuation.onTermination = { [weak self] _ in
            self?.attached.withLock { _ = $0.readers.removeValue(forKey: id) }
        }
        attached.withLock { $0.readers[id] = Reader(continuation: continuation) }
        return stream
    }

    /// Adds a subscriber for the life of these readers.
    public func subscribe(_ subscriber: any StreamSubscriber) {
        attached.withLock { $0.subscribers.append(subscriber) }
    }

    /// Queued readers and subscribers.
    public var count: Int { attached.withLock { $0.readers.count + $0.subscribers.count } }

    /// Events dropped across all readers because their queues were full.
    public var droppedEvents: Int { droppedTotal.load(ordering: .relaxed) }

    /// Under the lock, so every reader and subscriber sees the publisher's packets and the cues in one order.
    func deliver(_ event: StreamEvent) {
        attached.withLock { attached in
            for subscriber in attached.subscribers { subscriber.receive(event) }
            for (id, reader) in attached.readers {
                if case .dropped = reader.continuation.yield(event) {
                    attached.readers[id]?.dropped += 1
                    droppedTotal.add(1, ordering: .relaxed)
                }
            }
        }
    }
}

/// A reader that takes each event at once, on the thread that delivers it (the publisher's connection, or the
/// caller placing a cue). It saves a queue and a thread hop per packet, so it suits quick work that must keep up
/// anyway (the remuxer); it must not block, and must not deliver to the same stream from inside `receive`.
public protocol StreamSubscriber: AnyObject, Sendable {
    func receive(_ event: StreamEvent)
}

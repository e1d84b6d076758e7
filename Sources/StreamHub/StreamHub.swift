import Foundation
import Media
import Synchronization

/// The registry of live streams: at most one publisher per stream path.
public final class StreamHub: Sendable {
    private let streams = Mutex<[StreamPath: LiveStream]>([:])
    private let readers = Mutex<[StreamPath: StreamReaders]>([:])
    private let startObservers = Mutex<[@Sendable (StreamPath) -> Void]>([])

    /// False only to measure what statistics cost: streams then count nothing.
    public let collectsStatistics: Bool

    public init(collectsStatistics: Bool = true) { self.collectsStatistics = collectsStatistics }

    /// Registers a publisher for `path`; nil if the stream is already live (the first publisher keeps it).
    public func claim(_ path: StreamPath, remoteAddress: String, at date: Date = Date()) -> LiveStream? {
        let stream: LiveStream? = streams.withLock { streams in
            guard streams[path] == nil else { return nil }
            let stream = LiveStream(path: path, remoteAddress: remoteAddress, startedAt: date, readers: readers(of: path), countsStatistics: collectsStatistics)
            streams[path] = stream
            return stream
        }
        guard let stream else { return nil }
        // Observers attach their readers here, before the first event, so they see the publish from its start.
        for observer in startObservers.withLock({ $0 }) { observer(path) }
        stream.readers.deliver(.started(remoteAddress: remoteAddress))
        return stream
    }

    /// Calls `observer` each time a stream goes live, before its first packet is delivered.
    public func onStreamStart(_ observer: @escaping @Sendable (StreamPath) -> Void) {
        startObservers.withLock { $0.append(observer) }
    }

    /// The readers of `path`, created on first use; they stay for the life of the hub.
    public func readers(of path: StreamPath) -> StreamReaders {
        readers.withLock { readers in
            if let existing = readers[path] { return existing }
            let created = StreamReaders()
            readers[path] = created
            return created
        }
    }

    /// Removes `stream` if it is still the registered publisher for its path.
    public func release(_ stream: LiveStream, reason: String) {
        streams.withLock { streams in
            if streams[stream.path] === stream { streams[stream.path] = nil }
        }
        stream.readers.deliver(.ended(reason: reason))
    }

    public func stream(_ path: StreamPath) -> LiveStream? {
        streams.withLock { $0[path] }
    }

    public var liveStreams: [LiveStream] {
        streams.withLock { Array($0.values) }.sorted { $0.path < $1.path }
    }
}

import Foundation
import Media
import Synchronization

/// The registry of live streams: at most one publisher per stream path.
public final class StreamHub: Sendable {
    private let streams = Mutex<[StreamPath: LiveStream]>([:])

    public init() {}

    /// Registers a publisher for `path`; nil if the stream is already live (the first publisher keeps it).
    public func claim(_ path: StreamPath, remoteAddress: String, at date: Date = Date()) -> LiveStream? {
        streams.withLock { streams in
            guard streams[path] == nil else { return nil }
            let stream = LiveStream(path: path, remoteAddress: remoteAddress, startedAt: date)
            streams[path] = stream
            return stream
        }
    }

    /// Removes `stream` if it is still the registered publisher for its path.
    public func release(_ stream: LiveStream) {
        streams.withLock { streams in
            if streams[stream.path] === stream { streams[stream.path] = nil }
        }
    }

    public func stream(_ path: StreamPath) -> LiveStream? {
        streams.withLock { $0[path] }
    }

    public var liveStreams: [LiveStream] {
        streams.withLock { Array($0.values) }.sorted { $0.path < $1.path }
    }
}

/// How many players and viewers (RTMP play, HTTP-FLV) may read, and how far behind each may fall.
public struct ViewerLimits: Sendable, Equatable {
    public var perStream = 1000
    public var total = 10_000
    /// Events a viewer's queue holds before it skips to the next keyframe.
    public var queueCapacity = 256
    /// Seconds a viewer may stay behind (its queue never empty) before it is closed.
    public var maxLagSeconds = 10

    public init() {}

    public var readerConfiguration: QueuedStreamReader.Configuration {
        var configuration = QueuedStreamReader.Configuration()
        configuration.capacity = queueCapacity
        configuration.maxLag = .seconds(Int64(maxLagSeconds))
        return configuration
    }
}

extension StreamHub {
    /// Counts a new viewer of `stream`, or says which limit it would pass.
    public func admitViewer(to stream: LiveStream, limits: ViewerLimits) -> String? {
        if viewers.add(1, ordering: .relaxed).newValue > limits.total {
            viewers.subtract(1, ordering: .relaxed)
            return "server viewer limit (\(limits.total)) reached"
        }
        if stream.viewers.add(1, ordering: .relaxed).newValue > limits.perStream {
            stream.viewers.subtract(1, ordering: .relaxed)
            viewers.subtract(1, ordering: .relaxed)
            return "viewer limit of \(stream.path) (\(limits.perStream)) reached"
        }
        return nil
    }

    /// Uncounts a viewer admitted by `admitViewer`.
    public func releaseViewer(of stream: LiveStream) {
        stream.viewers.subtract(1, ordering: .relaxed)
        viewers.subtract(1, ordering: .relaxed)
    }
}

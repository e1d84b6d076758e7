import Media
import NIOConcurrencyHelpers

/// Every stream's HLS output, by path. The remuxer writes, HTTP reads.
public final class HLSStore: Sendable {
    private let streams = NIOLockedValueBox<[StreamPath: HLSStream]>([:])

    public init() {}

    public func stream(_ path: StreamPath) -> HLSStream? {
        streams.withLockedValue { $0[path] }
    }

    public func put(_ stream: HLSStream) {
        streams.withLockedValue { $0[stream.path] = stream }
    }

    /// Removes `stream` if it is still the one stored for its path.
    public func remove(_ stream: HLSStream) {
        streams.withLockedValue { streams in
            if streams[stream.path] === stream { streams[stream.path] = nil }
        }
    }

    public var all: [HLSStream] { streams.withLockedValue { Array($0.values) } }
}

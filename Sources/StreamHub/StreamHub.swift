import Foundation
import Media
import NIOCore
import Synchronization
import NIOConcurrencyHelpers

/// The registry of live streams: at most one publish per stream path, each a `LiveStream` of its own.
///
/// Outputs that outlive a publish (the HLS playlist of a path) follow the path: they become readers of each
/// publish on it from its start. Readers of one publish (an RTMP player) ask for the next one when it ends.
public final class StreamHub: Sendable {
    private struct Registry {
        var streams: [StreamPath: LiveStream] = [:]
        var followers: [StreamPath: [any StreamReader]] = [:]
        var waiters: [StreamPath: [(id: Int, callback: @Sendable (LiveStream) -> Void)]] = [:]
    }

    private let registry = NIOLockedValueBox(Registry())
    /// Held from a claim's start observers to its registration, and by `unfollow`: a follower never leaves a
    /// path between an observer seeing it and the publish starting with it.
    private let claims = NIOLockedValueBox(())
    private let startObservers = NIOLockedValueBox<[@Sendable (StreamPath) -> Void]>([])
    private let nextID = Atomic<Int>(0)
    /// Players and viewers reading any stream now.
    public let viewers = Atomic<Int>(0)

    /// False only to measure what statistics cost: streams then count nothing.
    public let collectsStatistics: Bool

    /// What each publish keeps of its current GOP for late joiners (`Limits.isEnabled` false: nothing).
    public let gopCache: GOPCache.Limits

    public init(collectsStatistics: Bool = true, gopCache: GOPCache.Limits = .init()) {
        self.collectsStatistics = collectsStatistics
        self.gopCache = gopCache
    }

    /// Registers a publish of `path` whose publisher runs on `eventLoop`; nil if the path is already live (the
    /// first publisher keeps it).
    public func claim(
        _ path: StreamPath, remoteAddress: String, on eventLoop: any EventLoop, at date: Date = Date()
    ) -> LiveStream? {
        let publish = PublishID(rawValue: nextID.add(1, ordering: .relaxed).newValue)
        let observers = startObservers.withLockedValue { $0 }
        let claimed: (LiveStream, [any StreamReader], [@Sendable (LiveStream) -> Void])? = claims.withLockedValue { _ in
            // Observers add their followers here, before the publish starts, so they see it from its first event.
            for observer in observers { observer(path) }
            return registry.withLockedValue { registry in
                guard registry.streams[path] == nil else { return nil }
                let stream = LiveStream(
                    path: path, publish: publish, eventLoop: eventLoop, remoteAddress: remoteAddress, startedAt: date,
                    countsStatistics: collectsStatistics, gopCache: gopCache)
                registry.streams[path] = stream
                let waiting = registry.waiters.removeValue(forKey: path) ?? []
                return (stream, registry.followers[path] ?? [], waiting.map(\.callback))
            }
        }
        guard let (stream, followers, waiting) = claimed else { return nil }
        stream.start(readers: followers)
        for callback in waiting { callback(stream) }
        return stream
    }

    /// Calls `observer` each time a path is about to go live, before its publish starts.
    public func onStreamStart(_ observer: @escaping @Sendable (StreamPath) -> Void) {
        startObservers.withLockedValue { $0.append(observer) }
    }

    /// Makes `reader` a reader of every publish of `path` from the next one on.
    public func follow(_ path: StreamPath, with reader: any StreamReader) {
        registry.withLockedValue { $0.followers[path, default: []].append(reader) }
    }

    /// Stops `reader` following `path`, unless a publish of it is live or starting; `retired` runs before any later
    /// claim of the path can begin (the owner forgets the reader there). Returns whether `reader` left.
    @discardableResult
    public func unfollow(_ path: StreamPath, reader: any StreamReader, then retired: () -> Void = {}) -> Bool {
        claims.withLockedValue { _ in
            let left = registry.withLockedValue { registry -> Bool in
                guard registry.streams[path] == nil, let followers = registry.followers[path],
                    followers.contains(where: { $0 === reader })
                else { return false }
                let rest = followers.filter { $0 !== reader }
                registry.followers[path] = rest.isEmpty ? nil : rest
                return true
            }
            if left { retired() }
            return left
        }
    }

    /// How many followers `path` has (its HLS remuxer, while the path has a playlist).
    public func followerCount(of path: StreamPath) -> Int {
        registry.withLockedValue { $0.followers[path]?.count ?? 0 }
    }

    /// Calls `callback` with the next publish of `path` that is not `previous`: at once if one is live, else when
    /// one starts. Returns an id for `cancelWaiting`, or nil if it was called at once.
    @discardableResult
    public func nextPublish(
        of path: StreamPath, after previous: PublishID?, _ callback: @escaping @Sendable (LiveStream) -> Void
    ) -> Int? {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let live: LiveStream? = registry.withLockedValue { registry in
            if let stream = registry.streams[path], stream.publish != previous { return stream }
            registry.waiters[path, default: []].append((id, callback))
            return nil
        }
        guard let live else { return id }
        callback(live)
        return nil
    }

    public func cancelWaiting(_ id: Int, for path: StreamPath) {
        registry.withLockedValue { registry in
            registry.waiters[path]?.removeAll { $0.id == id }
            if registry.waiters[path]?.isEmpty == true { registry.waiters[path] = nil }
        }
    }

    /// Ends `stream` and removes it if it is still the registered publish of its path.
    public func release(_ stream: LiveStream, reason: String) {
        registry.withLockedValue { registry in
            if registry.streams[stream.path] === stream { registry.streams[stream.path] = nil }
        }
        stream.end(reason: reason)
    }

    public func stream(_ path: StreamPath) -> LiveStream? {
        registry.withLockedValue { $0.streams[path] }
    }

    public var liveStreams: [LiveStream] {
        registry.withLockedValue { Array($0.streams.values) }.sorted { $0.path < $1.path }
    }
}

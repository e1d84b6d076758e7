import Foundation
import HLS
import Hummingbird
import ServiceLifecycle
import NIOCore
import Store
import StreamHub

/// Server-wide figures for the stats feed.
public struct ServerStatus: Encodable, Sendable {
    public var version: String
    public var uptimeSeconds: Double
    public var rtmpConnections: Int
    public var httpConnections: Int
    public var liveStreams: Int
    public var cpuSeconds: Double?
    public var residentBytes: Int?
    /// Heap in use, bytes (glibc `mallinfo2`): unlike RSS, it falls back when memory is freed.
    public var heapBytes: Int?
    /// Publishes refused since start (unknown key, hook, stream already live, too many failures).
    public var refusedPublishes: Int
    /// Of those, refused without a key lookup because their address had failed too often.
    public var rateLimitedPublishes: Int

    public init(
        version: String, uptimeSeconds: Double, rtmpConnections: Int, httpConnections: Int, liveStreams: Int, cpuSeconds: Double?,
        residentBytes: Int?, heapBytes: Int? = nil, refusedPublishes: Int = 0, rateLimitedPublishes: Int = 0
    ) {
        self.refusedPublishes = refusedPublishes
        self.rateLimitedPublishes = rateLimitedPublishes
        self.httpConnections = httpConnections
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.rtmpConnections = rtmpConnections
        self.liveStreams = liveStreams
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.heapBytes = heapBytes
    }
}

/// `GET /api/v1/stats/live`: server-sent events, a snapshot of every live stream each second (`event: stats`),
/// and `stream-start` / `stream-end` events when the set of live streams changes.
struct StatsRoutes: Sendable {
    let hub: StreamHub
    let api: APIRoutes
    let status: @Sendable () -> ServerStatus

    struct Snapshot: Encodable {
        var time: Date
        var server: ServerStatus
        var streams: [APIRoutes.StreamView]
    }

    func register(on group: RouterGroup<CueCastRequestContext>) {
        group.get("stats/live") { _, context in
            let encoder = context.responseEncoder
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody(asyncSequence: feed(encoder: encoder, role: context.role ?? .viewerStats)))
        }
    }

    /// The feed as `role` may see it (push targets from the operator role up).
    func feed(encoder: JSONEncoder, role: APIRole) -> AsyncStream<ByteBuffer> {
        let (hub, api, status) = (self.hub, self.api, self.status)
        return AsyncStream { continuation in
            // The feed never ends on its own: without this, an open console would hold a graceful shutdown for its
            // whole timeout. Task {} keeps the request's task locals, graceful shutdown among them.
            let task = Task {
                await cancelWhenGracefulShutdown { await Self.run(hub: hub, api: api, status: status, encoder: encoder, role: role, into: continuation) }
                if Task.isShuttingDownGracefully {
                    continuation.yield(ByteBuffer(string: "event: shutdown\ndata: {}\n\n"))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private static func run(
        hub: StreamHub, api: APIRoutes, status: @Sendable () -> ServerStatus, encoder: JSONEncoder, role: APIRole,
        into continuation: AsyncStream<ByteBuffer>.Continuation
    ) async {
                var live: Set<String> = []
                var id = 0
                continuation.yield(ByteBuffer(string: "retry: 2000\n\n"))
                while !Task.isCancelled {
                    let streams = hub.liveStreams
                    let now = Set(streams.map(\.path.description))
                    for started in now.subtracting(live).sorted() {
                        id += 1
                        continuation.yield(ByteBuffer(string: "id: \(id)\nevent: stream-start\ndata: {\"stream\":\"\(started)\"}\n\n"))
                    }
                    for ended in live.subtracting(now).sorted() {
                        id += 1
                        continuation.yield(ByteBuffer(string: "id: \(id)\nevent: stream-end\ndata: {\"stream\":\"\(ended)\"}\n\n"))
                    }
                    live = now
                    let snapshot = Snapshot(time: Date(), server: status(), streams: streams.map { api.view($0, role: role) })
                    if let data = try? encoder.encode(snapshot) {
                        id += 1
                        continuation.yield(ByteBuffer(string: "id: \(id)\nevent: stats\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
    }
}

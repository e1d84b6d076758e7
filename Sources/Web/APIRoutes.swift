import Cueing
import Foundation
import HLS
import Hummingbird
import Media
import Push
import Store
import StreamHub
import Synchronization

/// The JSON API under `/api/v1`, behind the admin token.
public struct APIRoutes: Sendable {
    let hub: StreamHub
    let keys: StreamKeyStore
    let sessions: PublishSessionLog
    let hls: HLSStore
    let cues: CueService
    let pushes: PushService
    let adminToken: String
    /// Scoped tokens (`cuecast tokens add`); only the admin token when nil.
    let tokens: APITokenStore?
    let status: @Sendable () -> ServerStatus

    public init(
        hub: StreamHub, keys: StreamKeyStore, sessions: PublishSessionLog, hls: HLSStore, cues: CueService, pushes: PushService,
        adminToken: String, tokens: APITokenStore? = nil, status: @escaping @Sendable () -> ServerStatus
    ) {
        self.tokens = tokens
        self.cues = cues
        self.pushes = pushes
        self.status = status
        self.hub = hub
        self.hls = hls
        self.keys = keys
        self.sessions = sessions
        self.adminToken = adminToken
    }

    struct StreamList: ResponseEncodable { var streams: [StreamView] }

    /// A live stream's ingest snapshot with its HLS output beside it.
    struct StreamView: ResponseEncodable {
        struct HLSView: Encodable {
            var state: String
            var playlist: String
            var mediaSequence: Int?
            var segments: Int
            /// Bytes of listed segments in memory, of removed ones still served (RFC 8216 §6.2.2), and of the one
            /// being written.
            var listedBytes: Int
            var retainedBytes: Int
            var writingBytes: Int
            var targetDuration: Int
            var viewers: Int
            /// Seconds from a segment's media end (its closing keyframe arriving) to its listing.
            var listingDelayP50: Double?
            var listingDelayP99: Double?
            var timestampRepairs: Int
            var droppedFrames: Int
            var playlistRequests: Int
            var segmentRequests: Int
            var bytesOut: Int
            var playlistRequestsPerSecond: Double?
            var segmentRequestsPerSecond: Double?
            var bitsOutPerSecond: Double?
        }
        var snapshot: StreamSnapshot
        var hls: HLSView?
        /// Cues placed since the server started, by kind.
        var cues: [String: Int]
        /// What an operator should look at, in words.
        var warnings: [String]
        /// The stream's push targets, keys masked; only for the operator role and above (nil: left out).
        var pushes: [PushStatus]?

        enum CodingKeys: String, CodingKey { case hls, cues, warnings, pushes }

        func encode(to encoder: any Encoder) throws {
            try snapshot.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(hls, forKey: .hls)
            try container.encode(cues, forKey: .cues)
            try container.encode(warnings, forKey: .warnings)
            try container.encodeIfPresent(pushes, forKey: .pushes)
        }
    }

    /// A live stream as `role` may see it: a viewer-stats token (a dashboard) does not see where it is pushed.
    func view(_ stream: LiveStream, role: APIRole) -> StreamView {
        let output = hls.stream(stream.path).map { output in
            let segments = output.segments
            let held = output.heldBytes
            let served = output.delivery.totals
            let rates = output.delivery.rates
            return StreamView.HLSView(
                state: output.state.rawValue, playlist: "/hls/\(stream.path)/index.m3u8", mediaSequence: segments.first?.sequence,
                segments: segments.count, listedBytes: held.listed, retainedBytes: held.retained, writingBytes: held.writing, targetDuration: output.targetDuration, viewers: output.viewerCount(),
                listingDelayP50: output.listingDelay(percentile: 0.5), listingDelayP99: output.listingDelay(percentile: 0.99),
                timestampRepairs: output.timestampRepairs.load(ordering: .relaxed),
                droppedFrames: output.droppedFrames.load(ordering: .relaxed), playlistRequests: served.playlistRequests,
                segmentRequests: served.segmentRequests, bytesOut: served.bytesOut, playlistRequestsPerSecond: rates?.playlistRequestsPerSecond,
                segmentRequestsPerSecond: rates?.segmentRequestsPerSecond, bitsOutPerSecond: rates?.bitsOutPerSecond)
        }
        let snapshot = stream.snapshot()
        var warnings: [String] = []
        if let target = output?.targetDuration, let longest = snapshot.statistics.keyframeIntervalMax, longest > Double(target) + 0.05 {
            warnings.append(String(format: "keyframe interval %.1f s exceeds the %d s segment target: segments run long", longest, target))
        }
        if let drift = snapshot.statistics.avDrift, abs(drift) > 1 {
            warnings.append(String(format: "audio and video are %.1f s apart", abs(drift)))
        }
        let placed = cues.placedCounts(stream.path)
        return StreamView(
            snapshot: snapshot, hls: output, cues: Dictionary(uniqueKeysWithValues: placed.map { ($0.key.rawValue, $0.value) }),
            warnings: warnings, pushes: role >= .operator ? pushes.list(stream: stream.path) : nil)
    }
    struct KeyView: Encodable {
        var stream: String
        var active: Bool
        var createdAt: Date
        var revokedAt: Date?
    }
    struct KeyList: ResponseEncodable { var keys: [KeyView] }
    struct SessionList: ResponseEncodable { var sessions: [PublishSessionRecord] }
    struct NewKeyRequest: Decodable { var stream: String }
    struct NewKey: ResponseEncodable {
        var stream: String
        var key: String
        var publishURL: String
    }

    public func register(on router: Router<CueCastRequestContext>, rtmpPublicURL: String) {
        // One group per role: a route is registered where the least role that may use it is checked.
        let stats = router.group("api/v1").add(middleware: requiring(.viewerStats))
        let operate = router.group("api/v1").add(middleware: requiring(.operator))
        let api = router.group("api/v1").add(middleware: requiring(.admin))

        StatsRoutes(hub: hub, api: self, status: status).register(on: stats)
        PushRoutes(service: pushes, keys: keys).register(read: operate, write: api)
        stats.get("streams") { _, context in
            StreamList(streams: hub.liveStreams.map { view($0, role: context.role ?? .viewerStats) })
        }
        stats.get("streams/:app/:name") { _, context in
            let path = try Self.streamPath(context)
            guard let stream = hub.stream(path) else { throw APIError(.notFound, "stream \(path) is not live") }
            return view(stream, role: context.role ?? .viewerStats)
        }
        api.get("keys") { _, _ in
            KeyList(keys: try await keys.list().map {
                KeyView(stream: $0.stream, active: $0.isActive, createdAt: $0.createdAt, revokedAt: $0.revokedAt)
            })
        }
        api.post("keys") { request, context in
            let body: NewKeyRequest
            do {
                body = try await request.decode(as: NewKeyRequest.self, context: context)
            } catch {
                throw APIError(.badRequest, "body must be JSON like {\"stream\": \"live/shop1\"}", field: "stream")
            }
            guard let path = StreamPath(body.stream) else {
                throw APIError(.badRequest, "stream must be <app>/<name> with letters, digits, '-', '_' or '.'", field: "stream")
            }
            if let reservation = path.reservation { throw APIError(.badRequest, reservation, field: "stream") }
            do {
                let secret = try await keys.add(stream: path.description)
                let response = NewKey(stream: path.description, key: secret, publishURL: "\(rtmpPublicURL)/\(path.app)")
                return EditedResponse(status: .created, response: response)
            } catch let error as StreamKeyError {
                throw APIError(.conflict, error.description, field: "stream")
            }
        }
        api.delete("keys/:app/:name") { _, context in
            let path = try Self.streamPath(context)
            do {
                try await keys.revoke(stream: path.description)
            } catch let error as StreamKeyError {
                throw APIError(.notFound, error.description)
            }
            // A publisher that is live with the revoked key is ended too.
            // So is one a hook renamed (it published under another name with this key).
            for stream in hub.liveStreams where stream.path == path || stream.keyPath.withLockedValue({ $0 }) == path {
                stream.terminate(reason: "stream key revoked")
            }
            return Response(status: .noContent)
        }
        operate.get("sessions") { request, _ in
            let stream = request.uri.queryParameters.get("stream")
            let limit = min(request.uri.queryParameters.get("limit", as: Int.self) ?? 50, 500)
            return SessionList(sessions: try await sessions.recent(stream: stream, limit: limit))
        }
    }

    func requiring(_ role: APIRole) -> BearerTokenMiddleware {
        BearerTokenMiddleware(adminToken: adminToken, tokens: tokens, minimum: role)
    }

    static func streamPath(_ context: CueCastRequestContext) throws -> StreamPath {
        let app = context.parameters.get("app") ?? ""
        let name = context.parameters.get("name") ?? ""
        guard let path = StreamPath(app: app, name: name) else { throw APIError(.badRequest, "malformed stream path") }
        return path
    }
}


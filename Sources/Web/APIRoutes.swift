import Foundation
import Hummingbird
import Media
import Store
import StreamHub

/// The JSON API under `/api/v1`, behind the admin token.
public struct APIRoutes: Sendable {
    let hub: StreamHub
    let keys: StreamKeyStore
    let sessions: PublishSessionLog
    let adminToken: String

    public init(hub: StreamHub, keys: StreamKeyStore, sessions: PublishSessionLog, adminToken: String) {
        self.hub = hub
        self.keys = keys
        self.sessions = sessions
        self.adminToken = adminToken
    }

    struct StreamList: ResponseEncodable { var streams: [StreamSnapshot] }
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
        let api = router.group("api/v1").add(middleware: BearerTokenMiddleware(token: adminToken))

        api.get("streams") { _, _ in
            StreamList(streams: hub.liveStreams.map { $0.snapshot() })
        }
        api.get("streams/:app/:name") { _, context in
            let path = try Self.streamPath(context)
            guard let stream = hub.stream(path) else { throw APIError(.notFound, "stream \(path) is not live") }
            return stream.snapshot()
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
            return Response(status: .noContent)
        }
        api.get("sessions") { request, _ in
            let stream = request.uri.queryParameters.get("stream")
            let limit = min(request.uri.queryParameters.get("limit", as: Int.self) ?? 50, 500)
            return SessionList(sessions: try await sessions.recent(stream: stream, limit: limit))
        }
    }

    static func streamPath(_ context: CueCastRequestContext) throws -> StreamPath {
        let app = context.parameters.get("app") ?? ""
        let name = context.parameters.get("name") ?? ""
        guard let path = StreamPath(app: app, name: name) else { throw APIError(.badRequest, "malformed stream path") }
        return path
    }
}

extension StreamSnapshot: ResponseEncodable {}

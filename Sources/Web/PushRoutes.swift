import Hummingbird
import Media
import Push

/// `/api/v1/streams/<app>/<stream>/pushes`: a stream's push targets. Answers show each URL with its key masked;
/// the key is never given back once saved.
struct PushRoutes: Sendable {
    let service: PushService

    struct NewTarget: Decodable {
        var url: String
        var name: String?
        var enabled: Bool?
    }

    struct Change: Decodable {
        var enabled: Bool
    }

    struct TargetList: ResponseEncodable { var pushes: [PushStatus] }

    /// Listing (keys masked) for operators; adding, switching and removing targets for admins.
    func register(read: RouterGroup<CueCastRequestContext>, write api: RouterGroup<CueCastRequestContext>) {
        read.get("streams/:app/:name/pushes") { _, context in
            TargetList(pushes: service.list(stream: try APIRoutes.streamPath(context)))
        }
        api.post("streams/:app/:name/pushes") { request, context in
            let path = try APIRoutes.streamPath(context)
            let body: NewTarget
            do {
                body = try await request.decode(as: NewTarget.self, context: context)
            } catch {
                throw APIError(.badRequest, "body must be JSON like {\"url\": \"rtmp://host/app/KEY\", \"name\": \"channels\", \"enabled\": true}", field: "url")
            }
            do {
                let status = try await service.add(stream: path, name: body.name, url: body.url, enabled: body.enabled ?? true)
                return EditedResponse(status: .created, response: status)
            } catch let failure as PushService.Failure {
                switch failure {
                case .badURL: throw APIError(.badRequest, failure.description, field: "url")
                case .badName: throw APIError(.badRequest, failure.description, field: "name")
                }
            }
        }
        api.patch("streams/:app/:name/pushes/:id") { request, context in
            let path = try APIRoutes.streamPath(context)
            let id = context.parameters.get("id") ?? ""
            let change: Change
            do {
                change = try await request.decode(as: Change.self, context: context)
            } catch {
                throw APIError(.badRequest, "body must be JSON like {\"enabled\": false}", field: "enabled")
            }
            guard let status = try await service.setEnabled(change.enabled, id: id, stream: path) else {
                throw APIError(.notFound, "no push target \(id) on \(path)")
            }
            return status
        }
        api.delete("streams/:app/:name/pushes/:id") { _, context in
            let path = try APIRoutes.streamPath(context)
            let id = context.parameters.get("id") ?? ""
            guard try await service.remove(id: id, stream: path) else { throw APIError(.notFound, "no push target \(id) on \(path)") }
            return Response(status: .noContent)
        }
    }
}

extension PushStatus: ResponseEncodable {}

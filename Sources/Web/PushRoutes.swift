import Hummingbird
import Media
import Push
import Store

/// `/api/v1/streams/<app>/<stream>/pushes`: a stream's push targets; `/api/v1/pushes`: every stream's. Answers
/// show each URL with its key masked; the key is never given back once saved.
struct PushRoutes: Sendable {
    let service: PushService
    let keys: StreamKeyStore

    struct NewTarget: Decodable {
        var url: String
        var name: String?
        var enabled: Bool?
    }

    struct Change: Decodable {
        var enabled: Bool
    }

    struct TargetList: ResponseEncodable {
        var pushes: [PushStatus]
        /// One stream's list: set when that stream has no active key (see `AddedTarget`).
        var note: String?
    }

    /// A target just added, with a `note` when its stream has no active key. Such a target is stored all the same
    /// (it may be set up before the key), but the stream cannot publish until it has one, which a typo in the
    /// stream's name would also cause.
    struct AddedTarget: ResponseEncodable {
        var target: PushStatus
        var note: String?

        private enum CodingKeys: String, CodingKey { case note }

        func encode(to encoder: any Encoder) throws {
            try target.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(note, forKey: .note)
        }
    }

    /// Every stream's targets, with the note of each stream among them that has no active key (by stream).
    struct EveryTarget: ResponseEncodable {
        var pushes: [PushStatus]
        var notes: [String: String]?
    }

    static func keylessNote(_ stream: StreamPath) -> String {
        "\(stream) has no active stream key, so it cannot publish yet; make one with `cuecast keys add \(stream)` (or check the name)"
    }

    /// The note for `stream` if it has no active key, else nil.
    func keylessNote(for stream: StreamPath) async throws -> String? {
        try await keys.hasActiveKey(stream: stream.description) ? nil : Self.keylessNote(stream)
    }

    /// Listing (keys masked) for operators; adding, switching and removing targets for admins.
    func register(read: RouterGroup<CueCastRequestContext>, write api: RouterGroup<CueCastRequestContext>) {
        read.get("pushes") { _, _ in
            let pushes = service.all()
            let keyed = Set(try await keys.list().filter(\.isActive).map(\.stream))
            var notes: [String: String] = [:]
            for stream in Set(pushes.map(\.stream)).subtracting(keyed) {
                if let path = StreamPath(stream) { notes[stream] = Self.keylessNote(path) }
            }
            return EveryTarget(pushes: pushes, notes: notes.isEmpty ? nil : notes)
        }
        read.get("streams/:app/:name/pushes") { _, context in
            let path = try APIRoutes.streamPath(context)
            let pushes = service.list(stream: path)
            return TargetList(pushes: pushes, note: pushes.isEmpty ? nil : try await keylessNote(for: path))
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
                return EditedResponse(status: .created, response: AddedTarget(target: status, note: try await keylessNote(for: path)))
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

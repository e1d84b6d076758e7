import Cueing
import Cues
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Store
import Media
import NIOCore

/// Cue endpoints: placing cues (operators, admin token), the cue log (admin), and what viewers' apps read without
/// a token: the current state and the live event feed.
public struct CueRoutes: Sendable {
    let service: CueService
    let adminToken: String
    let tokens: APITokenStore?

    public init(service: CueService, adminToken: String, tokens: APITokenStore? = nil) {
        self.service = service
        self.adminToken = adminToken
        self.tokens = tokens
    }

    public func register(on router: Router<CueCastRequestContext>) {
        // Placing and listing cues is an operator's job (a host's assistant), no admin needed.
        let admin = router.group("api/v1/streams/:app/:name/cues").add(
            middleware: BearerTokenMiddleware(adminToken: adminToken, tokens: tokens, minimum: .operator))
        admin.post { request, context in
            let path = try APIRoutes.streamPath(context)
            let body = try await request.body.collect(upTo: 64 * 1024)
            let result: (CueEvent, created: Bool)
            do {
                result = try await service.submit(stream: path, json: Data(body.readableBytesView))
            } catch let failure as CueService.Failure {
                throw Self.apiError(failure)
            }
            return try Self.json(Self.object(result.0), status: result.created ? .created : .ok)
        }
        admin.get { request, context in
            let path = try APIRoutes.streamPath(context)
            let after = request.uri.queryParameters.get("after", as: Int64.self) ?? 0
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
            let events = try await service.list(path, after: after, limit: limit)
            var page: [String: Any] = ["cues": events.map(Self.object)]
            if events.count == limit, let last = events.last { page["next"] = "?after=\(last.sequence)&limit=\(limit)" }
            return try Self.json(page)
        }
        router.get("api/v1/streams/:app/:name/state") { _, context in
            let path = try APIRoutes.streamPath(context)
            let state = try await service.state(of: path)
            var object: [String: Any] = ["stream": path.description]
            object["pinnedProduct"] = state.pinnedProduct.map(Self.object) ?? NSNull()
            object["openCoupon"] = state.openCoupon.map(Self.object) ?? NSNull()
            object["runningLottery"] = state.runningLottery.map(Self.object) ?? NSNull()
            object["lastAnnouncement"] = state.lastAnnouncement.map(Self.object) ?? NSNull()
            return try Self.json(object)
        }
        router.get("api/v1/streams/:app/:name/events") { request, context in
            let path = try APIRoutes.streamPath(context)
            let resumeAfter = request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int64($0) } ?? request.uri.queryParameters.get("after", as: Int64.self) ?? 0
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
                body: ResponseBody(asyncSequence: feed(path, after: resumeAfter)))
        }
    }

    /// The stored cues after `sequence`, then every new one, as server-sent events whose ids are cue sequence
    /// numbers: a client that reconnects with `Last-Event-ID` misses nothing and sees nothing twice.
    func feed(_ path: StreamPath, after sequence: Int64) -> AsyncStream<ByteBuffer> {
        let live = service.subscribe(path)  // before reading the log, so nothing falls between the two
        let service = self.service
        return AsyncStream { continuation in
            let task = Task {
                var last = sequence
                continuation.yield(ByteBuffer(string: "retry: 2000\n\n"))
                do {
                    while true {
                        let stored = try await service.list(path, after: last, limit: 500)
                        for event in stored { continuation.yield(Self.sse(event)) }
                        last = stored.last?.sequence ?? last
                        if stored.count < 500 { break }
                    }
                } catch {
                    continuation.finish()
                    return
                }
                let resumeFrom = last
                // Ends at a graceful shutdown (with an `event: shutdown`), or every open viewer app would hold the
                // shutdown for its whole timeout. Task {} keeps the request's task locals, graceful shutdown among them.
                await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    // A comment line every 15 s keeps proxies from closing an idle feed.
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(15))
                            continuation.yield(ByteBuffer(string: ": keep-alive\n\n"))
                        }
                    }
                    group.addTask {
                        var last = resumeFrom
                        for await event in live where event.sequence > last {
                            continuation.yield(Self.sse(event))
                            last = event.sequence
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
                }
                if Task.isShuttingDownGracefully { continuation.yield(ByteBuffer(string: "event: shutdown\ndata: {}\n\n")) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func sse(_ event: CueEvent) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object(event), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return ByteBuffer(string: "id: \(event.sequence)\nevent: cue\ndata: \(String(decoding: data, as: UTF8.self))\n\n")
    }

    /// A cue as the API shows it: the payload as an object, times in ISO 8601 with milliseconds.
    static func object(_ event: CueEvent) -> [String: Any] {
        var object: [String: Any] = [
            "sequence": event.sequence, "id": event.id, "stream": event.stream, "kind": event.kind.rawValue,
            "payload": (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) ?? [:],
            "pts": event.pts, "programDateTime": formatDate(event.programDateTime), "source": event.source.rawValue,
            "createdAt": formatDate(event.createdAt),
        ]
        if let duration = event.duration { object["duration"] = duration }
        return object
    }

    static func formatDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func apiError(_ error: CueService.Failure) -> APIError {
        switch error {
        case .invalid(let validation):
            APIError(validation.kind == .tooLarge ? .contentTooLarge : .badRequest, validation.message, field: validation.field)
        case .rateLimited(let seconds):
            APIError(
                .tooManyRequests, "more than the allowed cues per second for this stream",
                headers: [.retryAfter: String(max(1, Int(seconds.rounded(.up))))])
        case .unknownStream(let message): APIError(.notFound, message)
        case .notLive(let message): APIError(.conflict, message)
        case .notPlaced(let message): APIError(.conflict, message)
        case .unavailable(let message): APIError(.serviceUnavailable, message, headers: [.retryAfter: "5"])
        }
    }
}

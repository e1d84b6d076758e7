import HLS
import HTTPTypes
import Hummingbird
import Media
import NIOHTTPTypesHTTP1
import PlaybackSigning

/// HLS delivery through the router, with CORS. Most requests never get here: `HLSDeliveryHandler` answers them
/// in the connection's pipeline. The router serves the rest (pipelined behind another request,
/// requests not kept alive, preflights) and every error, with the same `HLSResponder`.
public struct HLSRoutes: Sendable {
    let responder: HLSResponder
    let corsOrigin: String
    /// HTTP-FLV, answered next to HLS in the connection's pipeline.
    let flv: FLVDelivery?
    /// Bytes of a segment read at a time for the router's answers.
    static let readSize = 64 * 1024

    public init(store: HLSStore, corsOrigin: String, flv: FLVDelivery? = nil, signer: PlaybackSigner? = nil) {
        self.responder = HLSResponder(store: store, corsOrigin: corsOrigin, signer: signer)
        self.corsOrigin = corsOrigin
        self.flv = flv
    }

    public func register(on router: Router<CueCastRequestContext>) {
        // Preflights (a page that adds Range or If-None-Match) are Hummingbird's CORS middleware's; it answers
        // them before the handler, which never runs. Real responses carry their CORS headers from
        // `HLSResponder`, with or without an Origin (see `corsHeaders`), the same on both paths.
        router.group("hls").add(
            middleware: CORSMiddleware(
                allowOrigin: corsOrigin == "*" ? .all : .custom(corsOrigin), allowHeaders: [.range, .ifNoneMatch],
                allowMethods: [.get, .head, .options], exposedHeaders: ["Content-Length", "Content-Range", "ETag"], maxAge: .seconds(86400))
        ).on(":app/:name/:file", method: .options) { _, _ in
            Response(status: .noContent)
        }
        let group = router.group("hls")
        for method in [HTTPRequest.Method.get, .head] {
            group.on(":app/:name/:file", method: method) { request, context in
                try await serve(request, context: context)
            }
        }
    }

    func serve(_ request: Request, context: CueCastRequestContext) async throws -> Response {
        guard let app = context.parameters.get("app"), let name = context.parameters.get("name"),
            let path = StreamPath(app: app, name: name), let fileName = context.parameters.get("file"),
            let file = HLSResponder.File(fileName)
        else {
            throw APIError(.badRequest, "malformed HLS path; expected /hls/<app>/<stream>/index.m3u8")
        }
        let reply: HLSReply
        do {
            let directives: DeliveryDirectives
            do {
                directives = try DeliveryDirectives(query: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
            } catch {
                throw APIError(.badRequest, error.description)
            }
            reply = try await responder.replyWaiting(
                isHead: request.method == .head, path: path, file: file, directives: directives,
                conditions: HLSResponder.Conditions(
                    ifNoneMatch: request.headers[.ifNoneMatch], range: request.headers[.range], skip: directives.skip,
                    token: request.uri.queryParameters.get("token")),
                viewer: HLSResponder.viewer(address: context.remoteAddress, userAgent: request.headers[.userAgent]))
        } catch var error as APIError {
            // A player's first poll (no segment yet) is a 404 a browser must be allowed to read.
            for (name, value) in HLSResponder.corsHeaders(origin: corsOrigin) {
                if let field = HTTPField.Name(name) { error.headers[field] = value }
            }
            throw error
        }
        let status = HTTPResponse.Status(code: Int(reply.status.code))
        let headers = HTTPFields(reply.headers, splitCookie: false)
        switch reply.body {
        case nil:
            return Response(status: status, headers: headers)
        case .bytes(let bytes):
            return Response(status: status, headers: headers, body: .init(byteBuffer: bytes))
        case .file(let file, let range):
            // Few requests get here (see `HLSDeliveryHandler`). They are read in runs, so a slow client holds
            // one run in memory, not a whole segment.
            let body = ResponseBody(contentLength: range.count) { writer in
                var offset = range.lowerBound
                while offset < range.upperBound {
                    let end = min(offset + Self.readSize, range.upperBound)
                    try await writer.write(try file.read(offset..<end))
                    offset = end
                }
                try await writer.finish(nil)
            }
            return Response(status: status, headers: headers, body: body)
        }
    }
}

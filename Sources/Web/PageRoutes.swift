import Hummingbird
import Media
import NIOCore

/// The operator console, the viewer page, their assets and the OpenAPI document: files compiled into the binary,
/// looked up by exact name (no file system path is ever built from a URL).
struct PageRoutes: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let body: ByteBuffer
    }

    static let assets: [String: Asset] = [
        "cuecast.css": Asset(contentType: "text/css; charset=utf-8", body: ByteBuffer(bytes: PackageResources.cuecast_css)),
        "console.js": Asset(contentType: "text/javascript; charset=utf-8", body: ByteBuffer(bytes: PackageResources.console_js)),
        "watch.js": Asset(contentType: "text/javascript; charset=utf-8", body: ByteBuffer(bytes: PackageResources.watch_js)),
    ]
    static let console = Asset(contentType: "text/html; charset=utf-8", body: ByteBuffer(bytes: PackageResources.console_html))
    static let watch = Asset(contentType: "text/html; charset=utf-8", body: ByteBuffer(bytes: PackageResources.watch_html))
    static let openAPI = Asset(contentType: "application/json", body: ByteBuffer(bytes: PackageResources.openapi_json))

    func register(on router: Router<CueCastRequestContext>) {
        router.get("console") { _, _ in Self.response(Self.console) }
        router.get("watch/:app/:name") { _, context in
            _ = try APIRoutes.streamPath(context)
            return Self.response(Self.watch)
        }
        router.get("assets/:file") { _, context in
            guard let asset = context.parameters.get("file").flatMap({ Self.assets[$0] }) else {
                throw APIError(.notFound, "no such asset")
            }
            return Self.response(asset)
        }
        router.get("api/v1/openapi.json") { _, _ in Self.response(Self.openAPI) }
        router.get("favicon.ico") { _, _ in Response(status: .noContent) }
    }

    static func response(_ asset: Asset) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType, .contentLength: String(asset.body.readableBytes), .cacheControl: "no-cache",
                .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: asset.body))
    }
}

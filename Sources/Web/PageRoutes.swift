import Foundation
import Hummingbird
import Media
import NIOCore

/// The operator console, the viewer page, their assets and the OpenAPI document: files compiled into the binary,
/// looked up by exact name (no file system path is ever built from a URL). The one file read at start is hls.js
/// when the operator hosts it (`--hlsjs FILE`), served as `/assets/hls.js`.
public struct PageRoutes: Sendable {
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
    static let openAPI = Asset(contentType: "application/json", body: ByteBuffer(bytes: PackageResources.openapi_json))
    /// The viewer page, naming where its hls.js comes from.
    let watch: Asset
    /// hls.js, when served from a local file.
    let hlsjs: Asset?

    /// Where the viewer page loads hls.js from unless told otherwise.
    public static let hlsjsCDN = "https://cdn.jsdelivr.net/npm/hls.js@1/dist/hls.min.js"

    /// `hlsjs`: an http(s) URL the viewer page loads hls.js from, or the path of a local copy to serve.
    /// - Throws: the file system's error when the file cannot be read.
    public init(hlsjs: String) throws {
        if hlsjs.hasPrefix("http://") || hlsjs.hasPrefix("https://") {
            self.init(scriptURL: hlsjs, script: nil)
        } else {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: hlsjs))
            self.init(scriptURL: "/assets/hls.js", script: Asset(contentType: "text/javascript; charset=utf-8", body: ByteBuffer(bytes: bytes)))
        }
    }

    /// The viewer page loading hls.js from jsDelivr.
    public init() { self.init(scriptURL: Self.hlsjsCDN, script: nil) }

    private init(scriptURL: String, script: Asset?) {
        hlsjs = script
        let escaped = scriptURL.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;")
        let page = String(decoding: PackageResources.watch_html, as: UTF8.self)
            .replacingOccurrences(of: "{{hlsjs}}", with: escaped)
        watch = Asset(contentType: "text/html; charset=utf-8", body: ByteBuffer(string: page))
    }

    func register(on router: Router<CueCastRequestContext>) {
        router.get("console") { _, _ in Self.response(Self.console) }
        router.get("watch/:app/:name") { _, context in
            _ = try APIRoutes.streamPath(context)
            return Self.response(watch)
        }
        router.get("assets/:file") { [hlsjs] _, context in
            let name = context.parameters.get("file")
            guard let asset = name == "hls.js" ? hlsjs : name.flatMap({ Self.assets[$0] }) else {
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

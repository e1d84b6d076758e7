import Foundation
import HLS
import Hummingbird
import Media
import NIOCore

/// HLS delivery from memory: playlists (rendered once per change) and segments (the same bytes for every
/// viewer), with the caching, range and CORS behaviour CDNs and players expect.
public struct HLSRoutes: Sendable {
    let store: HLSStore
    let corsOrigin: String

    public init(store: HLSStore, corsOrigin: String) {
        self.store = store
        self.corsOrigin = corsOrigin
    }

    public func register(on router: Router<CueCastRequestContext>) {
        let group = router.group("hls").add(
            middleware: CORSMiddleware(
                allowOrigin: corsOrigin == "*" ? .all : .custom(corsOrigin), allowHeaders: [.range, .ifNoneMatch],
                allowMethods: [.get, .head, .options], exposedHeaders: ["Content-Length", "Content-Range", "ETag"]))
        for method in [HTTPRequest.Method.get, .head] {
            group.on(":app/:name/:file", method: method) { request, context in
                try serve(request, context: context)
            }
        }
    }

    enum File {
        case mediaPlaylist
        case multivariantPlaylist
        case segment(String)

        init?(_ name: String) {
            switch name {
            case "index.m3u8": self = .mediaPlaylist
            case "master.m3u8": self = .multivariantPlaylist
            default:
                // Segment names are `<epoch>-<sequence>.ts`, both parts alphanumeric.
                guard name.hasSuffix(".ts"), name.count <= 64 else { return nil }
                let stem = name.dropLast(3).split(separator: "-", omittingEmptySubsequences: false)
                guard stem.count == 2, stem.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }) else {
                    return nil
                }
                self = .segment(name)
            }
        }
    }

    func serve(_ request: Request, context: CueCastRequestContext) throws -> Response {
        guard let app = context.parameters.get("app"), let name = context.parameters.get("name"),
            let path = StreamPath(app: app, name: name), let fileName = context.parameters.get("file"),
            let file = File(fileName)
        else {
            throw APIError(.badRequest, "malformed HLS path; expected /hls/<app>/<stream>/index.m3u8")
        }
        guard let stream = store.stream(path) else { throw APIError(.notFound, "no HLS stream \(path)") }
        let isHead = request.method == .head

        switch file {
        case .mediaPlaylist, .multivariantPlaylist:
            let body: ByteBuffer?
            if case .mediaPlaylist = file {
                body = stream.mediaPlaylist
                stream.sawViewer("\(context.remoteAddress ?? "?") \(request.headers[.userAgent] ?? "")")
            } else {
                body = stream.multivariantPlaylist
            }
            guard let body else { throw APIError(.notFound, "stream \(path) has no segment yet") }
            let etag = "\"\(stream.epoch)-\(stream.playlistVersion)\""
            // Live playlists change every segment: cache for about half a target duration. Ended ones do not change.
            let maxAge = stream.state == .ended ? 600 : max(1, stream.targetDuration / 2)
            var headers: HTTPFields = [
                .contentType: "application/vnd.apple.mpegurl", .cacheControl: "public, max-age=\(maxAge)", .eTag: etag,
            ]
            if request.headers[.ifNoneMatch] == etag {
                stream.delivery.countPlaylist(bytes: 0)
                return Response(status: .notModified, headers: headers)
            }
            headers[.contentLength] = String(body.readableBytes)
            stream.delivery.countPlaylist(bytes: isHead ? 0 : body.readableBytes)
            return Response(status: .ok, headers: headers, body: isHead ? .init() : .init(byteBuffer: body))
        case .segment(let uri):
            guard let segment = stream.segment(uri: uri) else { throw APIError(.notFound, "segment \(uri) is not available") }
            let etag = "\"\(uri.dropLast(3))\""
            var headers: HTTPFields = [
                .contentType: "video/mp2t", .cacheControl: "public, max-age=86400, immutable", .eTag: etag, .acceptRanges: "bytes",
            ]
            if request.headers[.ifNoneMatch] == etag {
                stream.delivery.countSegment(bytes: 0)
                return Response(status: .notModified, headers: headers)
            }
            let data = segment.data
            let total = data.readableBytes
            if let rangeHeader = request.headers[.range] {
                guard let range = ByteRange.parse(rangeHeader, length: total) else {
                    headers[.contentRange] = "bytes */\(total)"
                    return Response(status: .rangeNotSatisfiable, headers: headers)
                }
                headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(total)"
                headers[.contentLength] = String(range.count)
                let slice = data.getSlice(at: data.readerIndex + range.lowerBound, length: range.count)!
                stream.delivery.countSegment(bytes: isHead ? 0 : range.count)
                return Response(status: .partialContent, headers: headers, body: isHead ? .init() : .init(byteBuffer: slice))
            }
            headers[.contentLength] = String(total)
            stream.delivery.countSegment(bytes: isHead ? 0 : total)
            return Response(status: .ok, headers: headers, body: isHead ? .init() : .init(byteBuffer: data))
        }
    }
}

/// A single `Range: bytes=…` request (RFC 9110 §14.1.2), resolved against a length.
enum ByteRange {
    /// nil when the header is not a single satisfiable byte range.
    static func parse(_ header: String, length: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), length > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0 else { return nil }
            return max(0, length - suffix)..<length
        }
        guard let start = Int(first), start >= 0, start < length else { return nil }
        if last.isEmpty { return start..<length }
        guard let end = Int(last), end >= start else { return nil }
        return start..<min(end + 1, length)
    }
}


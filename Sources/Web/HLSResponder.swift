import Foundation
import HLS
import HTTPTypes
import Media
import NIOCore
import NIOHTTP1
import PlaybackSigning

/// What an HLS request gets: the same answer whether Hummingbird's router or `HLSDeliveryHandler` serves it.
///
/// In NIO's HTTP/1 types, which `HLSDeliveryHandler` writes as they are: it answers nearly every request, and
/// building HTTPTypes fields to convert them on every answer showed in its profile. The router converts.
struct HLSReply {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    /// nil for HEAD and for answers without a body.
    var body: Body?

    enum Body {
        /// A playlist.
        case bytes(ByteBuffer)
        /// A segment, or part of one.
        case file(SegmentFile, Range<Int>)
    }
}

/// HLS delivery from memory: playlists (rendered once per change) and segments (the same file for every
/// viewer), with the caching and range behaviour CDNs and players expect. Counts what it serves.
struct HLSResponder: Sendable {
    let store: HLSStore
    /// `Access-Control-Allow-Origin`: `*` or one origin.
    let corsOrigin: String
    /// Signed playback: a signed app's requests need `?token=`, and its playlists carry it on.
    let signer: PlaybackSigner?

    init(store: HLSStore, corsOrigin: String = "*", signer: PlaybackSigner? = nil) {
        self.store = store
        self.corsOrigin = corsOrigin
        self.signer = signer
    }

    /// The CORS headers every answer carries, whether or not the request had an `Origin`: behind a CDN or an
    /// nginx cache, the first request fills the cache for every browser after it. `Vary: Origin` when the
    /// allowed origin is a specific one; the headers hls.js reads (Fetch: not safelisted) exposed.
    static func corsHeaders(origin: String) -> [(String, String)] {
        var headers = [
            ("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag"),
        ]
        if origin != "*" { headers.append(("Vary", "Origin")) }
        return headers
    }

    enum File {
        case mediaPlaylist
        case multivariantPlaylist
        case segment(String)
        /// `ll.m3u8`, the Low-Latency HLS playlist of the CMAF rendition.
        case lowLatencyPlaylist
        /// A part (`<epoch>-<sequence>.<part>.m4s`), segment (`<epoch>-<sequence>.m4s`) or initialization
        /// segment (`<epoch>-<sequence>.mp4`) of the CMAF rendition.
        case lowLatencyFile(String)

        init?(_ name: some StringProtocol) {
            // Bytes, not Characters: this runs for every segment and playlist request.
            let bytes = name.utf8
            if bytes.elementsEqual("index.m3u8".utf8) {
                self = .mediaPlaylist
            } else if bytes.elementsEqual("master.m3u8".utf8) {
                self = .multivariantPlaylist
            } else if bytes.elementsEqual("ll.m3u8".utf8) {
                self = .lowLatencyPlaylist
            } else if bytes.count <= 64, bytes.count > 4, bytes.reversed().starts(with: "s4m.".utf8) || bytes.reversed().starts(with: "4pm.".utf8) {
                let allowed = bytes.dropLast(4).allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                        UInt8(ascii: "-"), UInt8(ascii: "."):
                        true
                    default:
                        false
                    }
                }
                guard allowed else { return nil }
                self = .lowLatencyFile(String(name))
            } else {
                // Segment names are `<epoch>-<sequence>.ts`, both parts ASCII letters and digits.
                guard bytes.count <= 64, bytes.count > 3, bytes.reversed().starts(with: "st.".utf8) else { return nil }
                var parts = 1
                var partLength = 0
                for byte in bytes.dropLast(3) {
                    switch byte {
                    case UInt8(ascii: "-"):
                        guard partLength > 0 else { return nil }
                        parts += 1
                        partLength = 0
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        partLength += 1
                    default:
                        return nil
                    }
                }
                guard parts == 2, partLength > 0 else { return nil }
                self = .segment(String(name))
            }
        }
    }

    /// How the viewer count tells clients apart.
    static func viewer(address: String?, userAgent: String?) -> String {
        "\(address ?? "?") \(userAgent ?? "")"
    }

    /// The request headers an answer depends on.
    struct Conditions {
        var ifNoneMatch: String?
        var range: String?
        /// `_HLS_skip` of a low-latency playlist request: a delta update.
        var skip: DeliveryDirectives.Skip? = nil
        /// `?token=` of a signed playback URL.
        var token: String? = nil
    }

    /// Refuses a request of a signed app without a valid token (403, with the reason); returns the token to carry
    /// into playlists, nil when the app is not signed.
    func checkToken(_ token: String?, path: StreamPath) throws(APIError) -> String? {
        guard let signer, signer.requiresToken(app: path.app) else { return nil }
        if let refusal = signer.refusal(token: token, app: path.app, stream: path.name) {
            throw APIError(.forbidden, refusal.description)
        }
        return token
    }

    /// The answer to `GET`/`HEAD /hls/<app>/<name>/<file>`; errors are thrown before anything is counted.
    /// `viewer` names the client (address and user agent) for the viewer count.
    func reply(isHead: Bool, path: StreamPath, file: File, conditions request: Conditions, viewer: @autoclosure () -> String) throws(APIError) -> HLSReply {
        var reply = try answer(isHead: isHead, path: path, file: file, conditions: request, viewer: viewer())
        for (name, value) in Self.corsHeaders(origin: corsOrigin) { reply.headers.add(name: name, value: value) }
        return reply
    }

    private func answer(isHead: Bool, path: StreamPath, file: File, conditions request: Conditions, viewer: @autoclosure () -> String) throws(APIError) -> HLSReply {
        let token = try checkToken(request.token, path: path)
        guard let stream = store.stream(path) else { throw APIError(.notFound, "no HLS stream \(path)") }
        switch file {
        case .mediaPlaylist:
            guard let playlist = stream.mediaPlaylistVersion else { throw APIError(.notFound, "stream \(path) has no segment yet") }
            stream.sawViewer(viewer())
            return playlistReply(
                playlist.text, etag: "\"\(stream.epoch)-\(playlist.version)\"",
                maxAge: Self.maxAge(ended: playlist.state == .ended, seconds: Double(playlist.targetDuration) / 2), isHead: isHead,
                request: request, counters: stream.delivery, token: token)
        case .multivariantPlaylist:
            guard let body = stream.multivariantPlaylist else { throw APIError(.notFound, "stream \(path) has no segment yet") }
            return playlistReply(
                body, etag: "\"\(stream.epoch)-\(stream.playlistVersion)\"",
                maxAge: Self.maxAge(ended: stream.state == .ended, seconds: Double(stream.targetDuration) / 2), isHead: isHead,
                request: request, counters: stream.delivery, token: token)
        case .lowLatencyPlaylist:
            guard let view = stream.lowLatencyView(skip: request.skip) else {
                throw APIError(.notFound, "stream \(path) makes no low-latency rendition")
            }
            guard let text = view.playlist else { throw APIError(.notFound, "stream \(path) has no segment yet") }
            stream.sawViewer(viewer())
            let etag = "\"\(stream.epoch)-ll-\(view.version)\(request.skip.map { "-skip-\($0.rawValue)" } ?? "")\""
            // About a part target: a blocking reload's URL names what it waits for, so a cache keyed on the query
            // returns the right answer. A plain reload may be up to a second old (whole seconds are all max-age has).
            return playlistReply(
                text, etag: etag, maxAge: Self.maxAge(ended: view.state == .ended, seconds: view.partTarget ?? 1), isHead: isHead,
                request: request, counters: stream.delivery, token: token)
        case .lowLatencyFile(let uri):
            guard let (file, range) = stream.lowLatencyFile(uri: uri) else { throw APIError(.notFound, "\(uri) is not available") }
            return fileReply(
                file: file, range: range, etag: "\"\(uri)\"", contentType: uri.hasSuffix(".mp4") ? "video/mp4" : "video/iso.segment",
                isHead: isHead, request: request, counters: stream.delivery)
        case .segment(let uri):
            guard let segment = stream.segment(uri: uri) else { throw APIError(.notFound, "segment \(uri) is not available") }
            return fileReply(
                file: segment.file, range: 0..<segment.file.size, etag: "\"\(uri.dropLast(3))\"", contentType: "video/mp2t", isHead: isHead,
                request: request, counters: stream.delivery)
        }
    }

    /// A segment, part or initialization segment: `range` of `file`, immutable (its URI never names other
    /// bytes), with byte ranges of it served as asked.
    private func fileReply(
        file: SegmentFile, range whole: Range<Int>, etag: String, contentType: String, isHead: Bool, request: Conditions, counters: DeliveryCounters
    ) -> HLSReply {
        var headers: HTTPHeaders = [
            "Content-Type": contentType, "Cache-Control": "public, max-age=86400, immutable", "ETag": etag, "Accept-Ranges": "bytes",
        ]
        if request.ifNoneMatch == etag {
            counters.countSegment(bytes: 0)
            return HLSReply(status: .notModified, headers: headers)
        }
        let total = whole.count
        switch request.range.map({ ByteRange.parse($0, length: total) }) ?? .whole {
        case .unsatisfiable:
            headers.add(name: "Content-Range", value: "bytes */\(total)")
            return HLSReply(status: .rangeNotSatisfiable, headers: headers)
        case .whole:
            break
        case .range(let range):
            headers.add(name: "Content-Range", value: "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(total)")
            headers.add(name: "Content-Length", value: String(range.count))
            counters.countSegment(bytes: isHead ? 0 : range.count)
            let shifted = (whole.lowerBound + range.lowerBound)..<(whole.lowerBound + range.upperBound)
            return HLSReply(status: .partialContent, headers: headers, body: isHead ? nil : .file(file, shifted))
        }
        headers.add(name: "Content-Length", value: String(total))
        counters.countSegment(bytes: isHead ? 0 : total)
        return HLSReply(status: .ok, headers: headers, body: isHead ? nil : .file(file, whole))
    }
}

extension HLSResponder {
    /// A playlist cached for `maxAge` seconds; with a `token`, every URI in it carries the token on.
    private func playlistReply(
        _ rendered: ByteBuffer, etag: String, maxAge: Int, isHead: Bool, request: Conditions, counters: DeliveryCounters, token: String?
    ) -> HLSReply {
        let body = token.map { ByteBuffer(string: PlaylistSigner.sign(String(buffer: rendered), token: $0)) } ?? rendered
        // A signed playlist holds its viewer's token: no shared cache may hand it to another viewer.
        let etag = token.map { "\(etag.dropLast())-\(PlaylistSigner.tag(of: $0))\"" } ?? etag
        var headers: HTTPHeaders = [
            "Content-Type": "application/vnd.apple.mpegurl", "Cache-Control": "\(token == nil ? "public" : "private"), max-age=\(maxAge)",
            "ETag": etag,
        ]
        if request.ifNoneMatch == etag {
            counters.countPlaylist(bytes: 0)
            return HLSReply(status: .notModified, headers: headers)
        }
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        counters.countPlaylist(bytes: isHead ? 0 : body.readableBytes)
        return HLSReply(status: .ok, headers: headers, body: isHead ? nil : .bytes(body))
    }
}

extension HLSResponder {
    /// `Cache-Control: max-age` of a playlist: `seconds` (whole, at least 1) while live; ended ones do not change.
    static func maxAge(ended: Bool, seconds: Double) -> Int {
        ended ? 600 : max(1, Int(seconds.rounded(.down)))
    }
}

extension HLSReply {
    init(status: HTTPResponseStatus, headers: HTTPHeaders) {
        self.init(status: status, headers: headers, body: nil)
    }
}

/// How a `Range` header (RFC 9110 §14.2) applies to a representation of a given length.
enum ByteRange: Equatable {
    /// Serve everything with 200: no usable range. A unit other than `bytes` must be ignored (§14.2), and a
    /// server may ignore any Range; several ranges (which would need a multipart body) and malformed ones are.
    case whole
    /// One satisfiable byte range: 206.
    case range(Range<Int>)
    /// A single well-formed byte range that does not overlap the representation: 416 (§15.5.17).
    case unsatisfiable

    static func parse(_ header: String, length: Int) -> ByteRange {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        let digits = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }
        if first.isEmpty {
            // A suffix range: the last N bytes.
            guard digits(last), let suffix = Int(last) else { return .whole }
            guard suffix > 0, length > 0 else { return .unsatisfiable }
            return .range(max(0, length - suffix)..<length)
        }
        guard digits(first), let start = Int(first), last.isEmpty || digits(last) else { return .whole }
        let end = last.isEmpty ? Int.max : (Int(last) ?? Int.max)
        guard end >= start else { return .whole }
        guard start < length else { return .unsatisfiable }
        return .range(start..<(end == Int.max ? length : min(end + 1, length)))
    }
}

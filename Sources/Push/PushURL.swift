import Foundation
import RTMP

/// Where a push goes, as a platform hands it out: `rtmp://host[:port]/<app>/<key>` or `rtmps://…` (port 443 by
/// default). The stream key is the last path segment plus any query string (Douyin and others sign it there);
/// everything between the host and the key is the app.
///
/// The key is a secret: `masked` is the only form that may reach an answer, a log line or a metric.
public struct PushURL: Sendable, Equatable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        case rtmp
        case rtmps
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case scheme
        case host
        case path

        public var description: String {
            switch self {
            case .scheme: "the URL must start with rtmp:// or rtmps://"
            case .host: "the URL has no host (or a bad port)"
            case .path: "the URL must be <scheme>://host[:port]/<app>/<stream key>"
            }
        }
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int
    public var app: String
    /// The stream key, with its query string if it had one.
    public var streamName: String
    /// Whether the port was written in the URL (it stays in `tcURL` as written).
    private var explicitPort: Bool

    /// - Throws: `ParseError` naming what is missing.
    public init(_ text: String) throws(ParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("rtmp://") {
            scheme = .rtmp
        } else if lower.hasPrefix("rtmps://") {
            scheme = .rtmps
        } else {
            throw .scheme
        }
        let rest = trimmed.dropFirst(scheme.rawValue.count + 3)
        guard let slash = rest.firstIndex(of: "/") else { throw .path }
        let authority = rest[..<slash]
        var path = String(rest[rest.index(after: slash)...])
        var query = ""
        if let mark = path.firstIndex(of: "?") {
            query = String(path[mark...])
            path = String(path[..<mark])
        }
        let hostPart: Substring
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else { throw .host }
            hostPart = authority[..<colon]
            port = value
            explicitPort = true
        } else {
            hostPart = authority
            port = scheme == .rtmps ? 443 : 1935
            explicitPort = false
        }
        guard !hostPart.isEmpty, !hostPart.contains("@") else { throw .host }
        host = String(hostPart)
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 2, let key = segments.last else { throw .path }
        app = segments.dropLast().joined(separator: "/")
        streamName = String(key) + query
    }

    /// `tcUrl` for `connect`: the URL without the key.
    public var tcURL: String {
        "\(scheme.rawValue)://\(host)\(explicitPort ? ":\(port)" : "")/\(app)"
    }

    /// The URL with its key masked: its first and last two characters when it is long enough to spare them.
    public var masked: String {
        let key = streamName
        let shown = key.count >= 10 ? "\(key.prefix(2))…\(key.suffix(2))" : "…"
        return "\(tcURL)/\(shown)"
    }

    public var description: String { masked }

    public var clientTarget: ClientSession.Target {
        ClientSession.Target(app: app, tcURL: tcURL, streamName: streamName)
    }
}

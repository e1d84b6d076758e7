/// A stream's name, `<app>/<stream>`, as it appears in RTMP and playback URLs.
///
/// Both parts are restricted to a safe alphabet so a path can never escape a URL segment or a directory.
public struct StreamPath: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let app: String
    public let name: String

    public init?(app: String, name: String) {
        guard Self.isValidComponent(app), Self.isValidComponent(name) else { return nil }
        self.app = app
        self.name = name
    }

    /// Parses `app/stream`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        self.init(app: String(parts[0]), name: String(parts[1]))
    }

    public var description: String { "\(app)/\(name)" }

    /// First path segments the HTTP server uses itself: a stream under one of them could not be played as
    /// `http://HOST/<app>/<stream>.flv` without shadowing (or being shadowed by) the server's own URLs.
    public static let reservedApps: Set<String> = ["hls", "api", "watch", "console", "metrics", "healthz", "static", "assets"]

    /// Why a key cannot be made for this path, if it cannot.
    public var reservation: String? {
        Self.reservedApps.contains(app.lowercased())
            ? "app name '\(app)' is reserved for the server's own URLs (\(Self.reservedApps.sorted().joined(separator: ", ")))" : nil
    }

    public static func < (lhs: StreamPath, rhs: StreamPath) -> Bool { lhs.description < rhs.description }

    /// Letters, digits, `-`, `_` and `.` (not leading), 1…64 characters.
    public static func isValidComponent(_ text: String) -> Bool {
        guard (1...64).contains(text.utf8.count), text.utf8.first != UInt8(ascii: ".") else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default: false
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let path = StreamPath(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad stream path"))
        }
        self = path
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

import Crypto
import Foundation

/// Signed playback URLs: `?token=<expiry>.<signature>` on every HLS, LL-HLS, HTTP-FLV and RTMP play request of a
/// signed app.
///
/// `expiry` is Unix seconds; `signature` is the first 16 bytes, as 32 lowercase hex digits, of
/// HMAC-SHA256(secret, "<scope>\n<expiry>"), where `scope` is a stream (`live/shop1`: that stream only) or an app
/// (`live`: every stream in it). A request passes with a token for its stream or its app. Pure: time is passed in.
public struct PlaybackSigner: Sendable, Equatable {
    public let secret: String
    /// Apps whose playback needs a token; nil: every app.
    public let apps: Set<String>?

    public init(secret: String, apps: Set<String>? = nil) {
        self.secret = secret
        self.apps = apps
    }

    public func requiresToken(app: String) -> Bool { apps?.contains(app) ?? true }

    /// A token for `scope` (`app` or `app/stream`) valid until `expiry`.
    public func token(scope: String, expiry: Date) -> String {
        let seconds = Int64(expiry.timeIntervalSince1970.rounded(.down))
        return "\(seconds).\(signature(scope: scope, expiry: seconds))"
    }

    /// Why `token` does not admit a viewer of `app/stream` at `now`, or nil when it does (or the app is not signed).
    public func refusal(token: String?, app: String, stream: String, now: Date = Date()) -> Refusal? {
        guard requiresToken(app: app) else { return nil }
        guard let token, !token.isEmpty else { return .missing }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let expiry = Int64(parts[0]), parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit) else {
            return .malformed
        }
        let given = String(parts[1]).lowercased()
        let matches = ["\(app)/\(stream)", app].contains { Self.constantTimeEqual(signature(scope: $0, expiry: expiry), given) }
        guard matches else { return .mismatch }
        guard Double(expiry) > now.timeIntervalSince1970 else { return .expired(Date(timeIntervalSince1970: TimeInterval(expiry))) }
        return nil
    }

    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case missing, malformed, mismatch
        case expired(Date)

        public var description: String {
            switch self {
            case .missing: "this stream needs a signed URL: ?token= is missing"
            case .malformed: "playback token is malformed (expected <expiry>.<32 hex digits>)"
            case .mismatch: "playback token does not match this stream"
            case .expired(let at): "playback token expired at \(at.formatted(.iso8601))"
            }
        }
    }

    private func signature(scope: String, expiry: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(scope)\n\(expiry)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The `token` value of a query string (`a=1&token=…`), percent-decoded; nil when absent.
    public static func token(inQuery query: Substring) -> String? {
        for pair in query.split(separator: "&") where pair.hasPrefix("token=") {
            let value = pair.dropFirst(6)
            return value.removingPercentEncoding ?? String(value)
        }
        return nil
    }
}

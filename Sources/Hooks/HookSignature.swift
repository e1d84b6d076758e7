import Crypto
import Foundation

/// The `X-CueCast-Signature` header: `sha256=` and the lowercase hex HMAC-SHA256 of the request body under
/// `hook-secret`, as GitHub signs its webhooks. A receiver recomputes it over the raw body and compares in
/// constant time; the body's `time` lets it refuse replays.
public enum HookSignature {
    public static let header = "X-CueCast-Signature"

    public static func sign(_ body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` is the body's under `secret`, compared in constant time.
    public static func verify(_ signature: String, body: Data, secret: String) -> Bool {
        guard signature.hasPrefix("sha256="), let mac = hexBytes(signature.dropFirst(7)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

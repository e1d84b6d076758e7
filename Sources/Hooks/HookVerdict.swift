import Foundation

/// A hook's answer to `publish` or `play`. Fail closed: only a 2xx whose body is empty or a JSON object allows.
///
/// A 2xx body may rename the stream: `{"stream": "shop1-main"}` publishes (or plays) under that name in the same
/// app. A refusal's reason is the body's `"reason"` when it is JSON, else its first 200 bytes of text.
public enum HookVerdict: Sendable, Equatable {
    case allow(renamedTo: String?)
    case refuse(reason: String)

    /// Reads an HTTP answer. Pure: the status and the body bytes.
    public static func from(status: Int, body: Data) -> HookVerdict {
        let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        guard (200..<300).contains(status) else {
            let reason = (object?["reason"] as? String) ?? text(body)
            return .refuse(reason: "hook answered \(status)" + (reason.isEmpty ? "" : ": \(reason)"))
        }
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .allow(renamedTo: nil) }
        guard let object else { return .refuse(reason: "hook answered \(status) with a body that is not a JSON object") }
        switch object["stream"] {
        case nil, is NSNull: return .allow(renamedTo: nil)
        case let name as String where !name.isEmpty: return .allow(renamedTo: name)
        default: return .refuse(reason: "hook answered \(status) with a \"stream\" that is not a non-empty string")
        }
    }

    private static func text(_ body: Data) -> String {
        let prefix = String(decoding: body.prefix(200), as: UTF8.self)
        return prefix.filter { !$0.isNewline }.trimmingCharacters(in: .whitespaces)
    }
}

import Foundation

/// A cue as a client asks for it, validated: kind-specific fields present and well typed, size within limits.
public struct CueRequest: Sendable, Equatable {
    public var id: String?
    public var kind: CueKind
    /// Canonical JSON object text (sorted keys).
    public var payload: String
    public var duration: Double?
    /// Bind to the first frame at or after this instant instead of the next frame.
    public var at: Date?

    public init(id: String? = nil, kind: CueKind, payload: String, duration: Double? = nil, at: Date? = nil) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.duration = duration
        self.at = at
    }
}

/// Why a cue was refused, with the field at fault.
public struct CueValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case invalid, tooLarge }
    public var kind: Kind
    public var field: String?
    public var message: String

    public var description: String { field.map { "\($0): \(message)" } ?? message }

    static func invalid(_ field: String?, _ message: String) -> CueValidationError {
        CueValidationError(kind: .invalid, field: field, message: message)
    }
}

/// Parses and checks cue JSON. Pure: the same bytes always give the same answer.
public struct CueValidator: Sendable {
    public var maxPayloadBytes: Int

    public init(maxPayloadBytes: Int = 1024) {
        self.maxPayloadBytes = maxPayloadBytes
    }

    static let topLevelKeys: Set<String> = ["id", "kind", "payload", "duration", "at"]

    /// Reads `{"kind": "...", "payload": {...}, "id"?, "duration"?, "at"?}`.
    public func validate(json data: Data, now: Date = Date()) throws(CueValidationError) -> CueRequest {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CueValidationError.invalid(nil, "body must be a JSON object")
            }
            object = parsed
        } catch let error as CueValidationError {
            throw error
        } catch {
            throw .invalid(nil, "body is not valid JSON")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.topLevelKeys.contains($0) }) {
            throw .invalid(unknown, "unknown field; allowed: id, kind, payload, duration, at")
        }
        guard let kindText = object["kind"] as? String else { throw .invalid("kind", "required, one of \(Self.kindList)") }
        guard let kind = CueKind(rawValue: kindText) else { throw .invalid("kind", "unknown kind '\(kindText)'; one of \(Self.kindList)") }
        var id: String?
        if let value = object["id"] {
            guard let text = value as? String, Self.isValidID(text) else {
                throw .invalid("id", "1-64 characters of letters, digits, '-', '_', '.' or ':'")
            }
            id = text
        }
        var duration: Double?
        if let value = object["duration"] {
            guard let number = Self.number(value), number > 0, number <= 86400 else {
                throw .invalid("duration", "seconds, a number above 0 and at most 86400")
            }
            duration = number
        }
        var at: Date?
        if let value = object["at"] {
            guard let text = value as? String, let date = Self.parseDate(text) else {
                throw .invalid("at", "an ISO 8601 instant such as 2026-11-21T12:00:00.000Z")
            }
            // The remuxer refuses instants before the open segment; nothing older than a minute can be in it.
            guard date >= now.addingTimeInterval(-60), date <= now.addingTimeInterval(300) else {
                throw .invalid("at", "must be within the open segment (the last seconds) or the next 300 s")
            }
            at = date
        }
        let payload = object["payload"] ?? [String: Any]()
        guard let fields = payload as? [String: Any] else { throw .invalid("payload", "must be a JSON object") }
        try Self.check(kind: kind, fields)
        let text = try canonical(fields)
        return CueRequest(id: id, kind: kind, payload: text, duration: duration, at: at)
    }

    func canonical(_ fields: [String: Any]) throws(CueValidationError) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw .invalid("payload", "cannot be serialised")
        }
        guard data.count <= maxPayloadBytes else {
            throw CueValidationError(kind: .tooLarge, field: "payload", message: "is \(data.count) bytes serialised; the limit is \(maxPayloadBytes)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON number as a Double; nil for booleans, which Foundation also hands out as NSNumber (and which
    /// `is Bool` cannot tell from 0 and 1 on Linux).
    static func number(_ value: Any) -> Double? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return number.doubleValue
    }

    static var kindList: String { CueKind.allCases.map(\.rawValue).joined(separator: ", ") }

    static func isValidID(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0))
        }
    }

    static func parseDate(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Kind-specific required fields and types. Extra fields are kept: players may use them.
    static func check(kind: CueKind, _ fields: [String: Any]) throws(CueValidationError) {
        func string(_ key: String, required: Bool = true, max: Int = 256) throws(CueValidationError) {
            guard let value = fields[key] else {
                if required { throw .invalid("payload.\(key)", "required for \(kind.rawValue)") }
                return
            }
            guard let text = value as? String, !text.isEmpty, text.count <= max else {
                throw .invalid("payload.\(key)", "must be a non-empty string of at most \(max) characters")
            }
        }
        func number(_ key: String) throws(CueValidationError) {
            guard let value = fields[key] else { throw .invalid("payload.\(key)", "required for \(kind.rawValue)") }
            guard let number = Self.number(value), number >= 0, number.isFinite else {
                throw .invalid("payload.\(key)", "must be a number of at least 0")
            }
        }
        func url(_ key: String) throws(CueValidationError) {
            guard let value = fields[key] else { return }
            guard let text = value as? String, let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw .invalid("payload.\(key)", "must be an http or https URL")
            }
        }
        func date(_ key: String, required: Bool = true) throws(CueValidationError) {
            guard let value = fields[key] else {
                if required { throw .invalid("payload.\(key)", "required for \(kind.rawValue)") }
                return
            }
            guard let text = value as? String, parseDate(text) != nil else {
                throw .invalid("payload.\(key)", "must be an ISO 8601 instant")
            }
        }
        switch kind {
        case .productPin:
            try string("sku", max: 64)
            try string("title")
            try number("price")
            guard let currency = fields["currency"] as? String, currency.count == 3, currency.allSatisfy({ $0.isUppercase && $0.isLetter }) else {
                throw .invalid("payload.currency", "required: a 3-letter ISO 4217 code such as CNY")
            }
            try url("image")
            try url("link")
        case .productUnpin:
            try string("sku", required: false, max: 64)
        case .coupon:
            try string("code", max: 64)
            try string("title")
            guard let discount = fields["discount"], discount is String || Self.number(discount) != nil else {
                throw .invalid("payload.discount", "required: a number or a text such as \"20%\"")
            }
            try date("validUntil")
        case .lottery:
            try string("id", max: 64)
            try string("title")
            try date("endsAt")
        case .announcement:
            try string("text", max: 500)
        case .custom:
            break
        }
    }
}

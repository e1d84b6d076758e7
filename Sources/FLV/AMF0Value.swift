/// A value in Action Message Format 0, the encoding of RTMP commands and data messages.
///
/// Objects keep their key order: some peers depend on it and round trips must be exact.
public enum AMF0Value: Sendable, Equatable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object([(key: String, value: AMF0Value)])
    case null
    case undefined
    /// Index into the table of objects seen earlier in the same message.
    case reference(UInt16)
    case ecmaArray([(key: String, value: AMF0Value)])
    case strictArray([AMF0Value])
    /// Milliseconds since 1970 and the (unused, usually zero) time zone in minutes.
    case date(Double, timeZone: Int16)
    case longString(String)
    case typedObject(className: String, [(key: String, value: AMF0Value)])
    case xmlDocument(String)
    /// A value introduced by the switch-to-AMF3 marker (0x11).
    case amf3(AMF3Value)

    public static func == (lhs: AMF0Value, rhs: AMF0Value) -> Bool {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.longString(let a), .longString(let b)): a == b
        case (.xmlDocument(let a), .xmlDocument(let b)): a == b
        case (.null, .null), (.undefined, .undefined): true
        case (.reference(let a), .reference(let b)): a == b
        case (.object(let a), .object(let b)), (.ecmaArray(let a), .ecmaArray(let b)): Self.equal(a, b)
        case (.strictArray(let a), .strictArray(let b)): a == b
        case (.date(let a, let za), .date(let b, let zb)): a == b && za == zb
        case (.typedObject(let ca, let a), .typedObject(let cb, let b)): ca == cb && Self.equal(a, b)
        case (.amf3(let a), .amf3(let b)): a == b
        default: false
        }
    }

    private static func equal(_ a: [(key: String, value: AMF0Value)], _ b: [(key: String, value: AMF0Value)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension AMF0Value {
    /// The string in `.string` or `.longString` (and AMF3 strings).
    public var stringValue: String? {
        switch self {
        case .string(let s), .longString(let s): s
        case .amf3(.string(let s)): s
        default: nil
        }
    }

    public var numberValue: Double? {
        switch self {
        case .number(let n): n
        case .amf3(.double(let d)): d
        case .amf3(.integer(let i)): Double(i)
        default: nil
        }
    }

    public var boolValue: Bool? {
        switch self {
        case .boolean(let b): b
        case .amf3(.boolean(let b)): b
        default: nil
        }
    }

    /// Key/value pairs of an object, ECMA array or typed object.
    public var properties: [(key: String, value: AMF0Value)]? {
        switch self {
        case .object(let p), .ecmaArray(let p), .typedObject(_, let p): p
        default: nil
        }
    }

    /// The first property with this key.
    public subscript(key: String) -> AMF0Value? {
        properties?.first { $0.key == key }?.value
    }
}

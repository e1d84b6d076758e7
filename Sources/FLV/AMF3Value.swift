/// A value in Action Message Format 3, as Flash/AIR-style publishers (`objectEncoding 3`) send it behind AMF0's
/// switch marker (AMF3 specification, §3).
///
/// References (strings, objects, traits) are resolved while decoding, so every value here is self-contained.
/// Objects and associative arrays keep their key order, like `AMF0Value`.
public indirect enum AMF3Value: Sendable, Equatable {
    case undefined
    case null
    case boolean(Bool)
    /// A 29-bit signed integer (§3.6).
    case integer(Int32)
    case double(Double)
    case string(String)
    /// The legacy XMLDocument type (§3.9).
    case xmlDocument(String)
    /// Milliseconds since 1970, UTC (§3.10).
    case date(Double)
    /// The dense part (indexed from 0) and the associative part (string keys) of an array (§3.11).
    case array(dense: [AMF3Value], associative: [(key: String, value: AMF3Value)])
    /// An object's class name (empty for an anonymous object) and its sealed then dynamic members (§3.12).
    case object(className: String, [(key: String, value: AMF3Value)])
    /// E4X XML (§3.13).
    case xml(String)
    case byteArray([UInt8])
    case vectorInt([Int32])
    case vectorUInt([UInt32])
    case vectorDouble([Double])
    /// A vector of objects and the name of its element type (empty for `*`).
    case vectorObject(typeName: String, [AMF3Value])
    /// Keys of any type (§3.15); weak keys are not kept apart.
    case dictionary([(key: AMF3Value, value: AMF3Value)])

    public static func == (lhs: AMF3Value, rhs: AMF3Value) -> Bool {
        switch (lhs, rhs) {
        case (.undefined, .undefined), (.null, .null): true
        case (.boolean(let a), .boolean(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.double(let a), .double(let b)), (.date(let a), .date(let b)): a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)), (.xmlDocument(let a), .xmlDocument(let b)), (.xml(let a), .xml(let b)): a == b
        case (.array(let da, let aa), .array(let db, let ab)): da == db && equal(aa, ab)
        case (.object(let ca, let a), .object(let cb, let b)): ca == cb && equal(a, b)
        case (.byteArray(let a), .byteArray(let b)): a == b
        case (.vectorInt(let a), .vectorInt(let b)): a == b
        case (.vectorUInt(let a), .vectorUInt(let b)): a == b
        case (.vectorDouble(let a), .vectorDouble(let b)): a == b
        case (.vectorObject(let ta, let a), .vectorObject(let tb, let b)): ta == tb && a == b
        case (.dictionary(let a), .dictionary(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    private static func equal(_ a: [(key: String, value: AMF3Value)], _ b: [(key: String, value: AMF3Value)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension AMF3Value {
    /// The same value in AMF0's types, so the rest of the server reads one encoding: integers become numbers,
    /// anonymous objects objects, named ones typed objects, arrays strict arrays (dense only) or ECMA arrays,
    /// vectors strict arrays. Byte arrays have no AMF0 form and become `undefined`; dictionaries keep their
    /// string-keyed entries.
    public var amf0: AMF0Value {
        switch self {
        case .undefined: .undefined
        case .null: .null
        case .boolean(let b): .boolean(b)
        case .integer(let i): .number(Double(i))
        case .double(let d): .number(d)
        case .string(let s): s.utf8.count <= Int(UInt16.max) ? .string(s) : .longString(s)
        case .xmlDocument(let s), .xml(let s): .xmlDocument(s)
        case .date(let ms): .date(ms, timeZone: 0)
        case .array(let dense, let associative):
            if associative.isEmpty {
                .strictArray(dense.map(\.amf0))
            } else {
                .ecmaArray(dense.enumerated().map { (String($0.offset), $0.element.amf0) } + associative.map { ($0.key, $0.value.amf0) })
            }
        case .object(let className, let members):
            className.isEmpty
                ? .object(members.map { ($0.key, $0.value.amf0) })
                : .typedObject(className: className, members.map { ($0.key, $0.value.amf0) })
        case .byteArray: .undefined
        case .vectorInt(let v): .strictArray(v.map { .number(Double($0)) })
        case .vectorUInt(let v): .strictArray(v.map { .number(Double($0)) })
        case .vectorDouble(let v): .strictArray(v.map { .number($0) })
        case .vectorObject(_, let v): .strictArray(v.map(\.amf0))
        case .dictionary(let entries):
            .ecmaArray(entries.compactMap { entry in entry.key.amf0.stringValue.map { ($0, entry.value.amf0) } })
        }
    }
}

extension AMF0Value {
    /// This value with every AMF3 value inside it (behind a switch marker, at any depth) turned into AMF0.
    public var withoutAMF3: AMF0Value {
        switch self {
        case .amf3(let value): value.amf0
        case .object(let p): .object(p.map { ($0.key, $0.value.withoutAMF3) })
        case .ecmaArray(let p): .ecmaArray(p.map { ($0.key, $0.value.withoutAMF3) })
        case .typedObject(let name, let p): .typedObject(className: name, p.map { ($0.key, $0.value.withoutAMF3) })
        case .strictArray(let items): .strictArray(items.map(\.withoutAMF3))
        default: self
        }
    }
}

import Foundation
import NIOCore

/// Script data bodies (AMF0: a handler name, then its value), the same bytes in an FLV script tag and in an RTMP
/// data message (type 18).
public enum ScriptData {
    /// `onMetaData` with the publisher's fields, as an ECMA array (what FLV readers expect).
    public static func onMetaData(_ properties: [(key: String, value: AMF0Value)]) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeAMF0(.string("onMetaData"))
        out.writeAMF0(.ecmaArray(properties))
        return out
    }

    /// `onCuePoint` as Flash and flv.js-style players read it: `{name, time, type: "event", parameters}`.
    /// `name` is the cue's kind, `time` the bound frame's media time in seconds, and `parameters` the cue JSON's
    /// top-level fields (objects stay objects, numbers stay numbers).
    public static func onCuePoint(name: String, timeMS: Int64, json: String) -> ByteBuffer {
        var parameters: [(key: String, value: AMF0Value)] = []
        if case .object(let fields)? = (try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))?.amf {
            parameters = fields
        }
        var out = ByteBuffer()
        out.writeAMF0(.string("onCuePoint"))
        out.writeAMF0(
            .object([
                ("name", .string(name)), ("time", .number(Double(timeMS) / 1000)), ("type", .string("event")),
                ("parameters", .object(parameters)),
            ]))
        return out
    }
}

/// Any JSON value, decoded straight into its AMF0 counterpart (object keys sorted, so the bytes are stable).
struct JSONValue: Decodable {
    var amf: AMF0Value

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [AMF0Value] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self).amf) }
            amf = .strictArray(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            amf = .object(try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                ($0.stringValue, try object.decode(JSONValue.self, forKey: $0).amf)
            })
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            amf = .null
        } else if let flag = try? value.decode(Bool.self) {
            amf = .boolean(flag)
        } else if let number = try? value.decode(Double.self) {
            amf = .number(number)
        } else {
            amf = .string(try value.decode(String.self))
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

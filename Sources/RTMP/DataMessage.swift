import FLV
import Media
import NIOCore

/// A data message (type 18, or 15 with AMF0 inside): a handler name and its values.
///
/// `@setDataFrame` wraps the real handler name (`onMetaData`) as its first argument; it is unwrapped here.
public struct DataMessage: Sendable, Equatable {
    public var handler: String
    public var values: [AMF0Value]

    public init(handler: String, values: [AMF0Value]) {
        self.handler = handler
        self.values = values
    }

    public init(_ message: RTMPMessage, decoder: AMF0Decoder = AMF0Decoder()) throws(RTMPError) {
        var payload = message.amf0Body
        // AMF3 values (behind the switch marker, from objectEncoding 3 publishers) are read as AMF0 from here on.
        var values = try decodingFLV { () throws(FLVError) in try decoder.decodeAll(&payload) }.map(\.withoutAMF3)
        guard let first = values.first?.stringValue else {
            throw .malformedMessage(type: message.typeID, reason: "data handler name is not a string")
        }
        values.removeFirst()
        if first == "@setDataFrame", let inner = values.first?.stringValue {
            values.removeFirst()
            self.handler = inner
        } else {
            self.handler = first
        }
        self.values = values
    }
}

/// What an encoder says about its stream in `onMetaData`.
public struct StreamMetadata: Sendable, Equatable, Codable {
    public var width: Double?
    public var height: Double?
    public var frameRate: Double?
    public var videoDataRate: Double?
    public var videoCodecID: String?
    public var audioDataRate: Double?
    public var audioSampleRate: Double?
    public var audioChannels: Double?
    public var audioCodecID: String?
    public var encoder: String?
    public var duration: Double?

    public init() {}

    /// Reads the fields encoders set; missing or oddly typed fields stay nil.
    public init(_ value: AMF0Value) {
        func number(_ key: String) -> Double? { value[key]?.numberValue }
        // Codec ids are numbers in FLV, FourCC strings in Enhanced RTMP.
        func codec(_ key: String) -> String? {
            guard let v = value[key] else { return nil }
            if let s = v.stringValue { return s }
            if let n = v.numberValue { return String(Int(n)) }
            return nil
        }
        width = number("width")
        height = number("height")
        frameRate = number("framerate") ?? number("fps")
        videoDataRate = number("videodatarate")
        videoCodecID = codec("videocodecid")
        audioDataRate = number("audiodatarate")
        audioSampleRate = number("audiosamplerate")
        audioChannels = number("audiochannels") ?? value["stereo"]?.boolValue.map { $0 ? 2 : 1 }
        audioCodecID = codec("audiocodecid")
        encoder = value["encoder"]?.stringValue
        duration = number("duration")
    }
}

extension InBandCue {
    /// Reads `onCuePoint` (an object with name, time, type, parameters) or `onTextData` (an object with text).
    public init?(handler: String, values: [AMF0Value], timestamp: Int64) {
        guard let body = values.first else { return nil }
        switch handler {
        case "onCuePoint":
            var parameters: [String: String] = [:]
            for (key, value) in body["parameters"]?.properties ?? [] {
                parameters[key] = value.stringValue ?? value.numberValue.map { String($0) } ?? ""
            }
            self.init(
                kind: .cuePoint, timestamp: timestamp, name: body["name"]?.stringValue, type: body["type"]?.stringValue,
                time: body["time"]?.numberValue, text: nil, parameters: parameters)
        case "onTextData":
            guard let text = body["text"]?.stringValue ?? body.stringValue else { return nil }
            self.init(kind: .textData, timestamp: timestamp, text: text)
        default:
            return nil
        }
    }
}

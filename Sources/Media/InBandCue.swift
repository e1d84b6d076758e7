/// A cue sent by the streamer inside the stream: AMF0 `onCuePoint` (name, time, type, parameters) or
/// `onTextData` (text), stamped with the media time of the message that carried it.
public struct InBandCue: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case cuePoint, textData }
    public var kind: Kind
    /// Media time of the data message, in ms.
    public var timestamp: Int64
    public var name: String?
    public var type: String?
    public var time: Double?
    public var text: String?
    public var parameters: [String: String]

    public init(
        kind: Kind, timestamp: Int64, name: String? = nil, type: String? = nil, time: Double? = nil,
        text: String? = nil, parameters: [String: String] = [:]
    ) {
        self.kind = kind
        self.timestamp = timestamp
        self.name = name
        self.type = type
        self.time = time
        self.text = text
        self.parameters = parameters
    }
}

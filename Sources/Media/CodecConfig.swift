/// What a decoder needs to know about a video stream, as read from its sequence header.
public struct VideoConfig: Sendable, Hashable, Codable {
    public var codec: Codec
    /// Profile name, e.g. "High" for H.264 profile_idc 100.
    public var profile: String?
    public var profileIndication: Int?
    public var levelIndication: Int?
    public var width: Int?
    public var height: Int?

    public init(
        codec: Codec, profile: String? = nil, profileIndication: Int? = nil, levelIndication: Int? = nil,
        width: Int? = nil, height: Int? = nil
    ) {
        self.codec = codec
        self.profile = profile
        self.profileIndication = profileIndication
        self.levelIndication = levelIndication
        self.width = width
        self.height = height
    }

    /// Level as players print it: 31 → "3.1".
    public var level: String? {
        guard let levelIndication else { return nil }
        return "\(levelIndication / 10).\(levelIndication % 10)"
    }
}

/// What a decoder needs to know about an audio stream, as read from its sequence header.
public struct AudioConfig: Sendable, Hashable, Codable {
    public var codec: Codec
    /// For AAC, the audio object type (2 = LC).
    public var objectType: Int?
    public var sampleRate: Int?
    public var channels: Int?

    public init(codec: Codec, objectType: Int? = nil, sampleRate: Int? = nil, channels: Int? = nil) {
        self.codec = codec
        self.objectType = objectType
        self.sampleRate = sampleRate
        self.channels = channels
    }
}

/// What a client asked to play: the app from `connect` and the stream name from `play` (never a key).
public struct PlayRequest: Sendable, Equatable {
    public var app: String
    /// The stream name without its query string.
    public var name: String
    public var query: [String: String]
    public var messageStreamID: UInt32

    public init(app: String, name: String, query: [String: String] = [:], messageStreamID: UInt32 = 1) {
        self.app = app
        self.name = name
        self.query = query
        self.messageStreamID = messageStreamID
    }
}

/// Why a play was refused, as the client reads it in `onStatus`.
public struct PlayRefusal: Error, Sendable, Equatable {
    public var code: String
    public var description: String

    public init(code: String, description: String) {
        self.code = code
        self.description = description
    }

    public static func streamNotFound(_ description: String) -> PlayRefusal {
        PlayRefusal(code: "NetStream.Play.StreamNotFound", description: description)
    }

    public static func failed(_ description: String) -> PlayRefusal {
        PlayRefusal(code: "NetStream.Play.Failed", description: description)
    }
}

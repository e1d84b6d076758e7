/// What a client asked to publish: the app from `connect`, the name from `publish` (possibly with a query).
public struct PublishRequest: Sendable, Equatable {
    public var app: String
    /// The publishing name without its query string.
    public var name: String
    /// Query parameters of the publishing name (`key?token=…`) and of the app (`live?key=…`).
    public var query: [String: String]
    public var publishType: String
    public var messageStreamID: UInt32
    public var tcURL: String?
    public var flashVersion: String?

    public init(
        app: String, name: String, query: [String: String] = [:], publishType: String = "live",
        messageStreamID: UInt32 = 1, tcURL: String? = nil, flashVersion: String? = nil
    ) {
        self.app = app
        self.name = name
        self.query = query
        self.publishType = publishType
        self.messageStreamID = messageStreamID
        self.tcURL = tcURL
        self.flashVersion = flashVersion
    }

    /// Splits `name?a=1&b=2` into the name and its parameters.
    static func splitQuery(_ text: String) -> (String, [String: String]) {
        guard let mark = text.firstIndex(of: "?") else { return (text, [:]) }
        var query: [String: String] = [:]
        for pair in text[text.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncodingLossy
            query[key] = parts.count > 1 ? String(parts[1]).removingPercentEncodingLossy : ""
        }
        return (String(text[..<mark]), query)
    }
}

/// Why a publish was refused, as the client will read it in `onStatus`.
public struct PublishRefusal: Error, Sendable, Equatable {
    public var code: String
    public var description: String

    public init(code: String, description: String) {
        self.code = code
        self.description = description
    }

    public static func badName(_ description: String) -> PublishRefusal {
        PublishRefusal(code: "NetStream.Publish.BadName", description: description)
    }

    public static func denied(_ description: String) -> PublishRefusal {
        PublishRefusal(code: "NetStream.Publish.Denied", description: description)
    }
}

extension String {
    /// Percent-decoding that keeps undecodable input as it was.
    var removingPercentEncodingLossy: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

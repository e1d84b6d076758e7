import Foundation

/// What a hook is told about one publish or play, POSTed as JSON to `on-publish-url`.
///
/// Shape: `{"action": "publish", "app": "live", "stream": "shop1", "clientAddress": "203.0.113.5:50122",
/// "query": {"cueSEI": "1"}, "sessionID": "c3f0…", "protocol": "rtmp", "time": "2026-11-30T12:00:00.000Z"}`.
/// `query` never carries the stream key (`key`): the hook decides beside the key check, not instead of it.
public struct HookEvent: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case publish
        case publishDone = "publish_done"
        case play
        case playDone = "play_done"

        /// `publish` and `play` ask; the `_done` actions only tell.
        public var asksForAdmission: Bool { self == .publish || self == .play }
    }

    public var action: Action
    public var app: String
    public var stream: String
    /// `host:port` of the encoder or player.
    public var clientAddress: String
    public var query: [String: String]
    /// The same for a connection's admission and its `_done` event.
    public var sessionID: String
    /// `rtmp`, `rtmps` or `http-flv`.
    public var `protocol`: String
    /// ISO 8601 with milliseconds, UTC.
    public var time: String

    public init(
        action: Action, app: String, stream: String, clientAddress: String, query: [String: String], sessionID: String,
        protocol: String, time: Date = Date()
    ) {
        self.action = action
        self.app = app
        self.stream = stream
        self.clientAddress = clientAddress
        self.query = query.filter { $0.key != "key" }
        self.sessionID = sessionID
        self.protocol = `protocol`
        self.time = Self.timestamp(time)
    }

    /// The same event for another action (a publish's `publish_done`), stamped now.
    public func with(action: Action, time: Date = Date()) -> HookEvent {
        var event = self
        event.action = action
        event.time = Self.timestamp(time)
        return event
    }

    static func timestamp(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    /// The JSON body, keys sorted so the signed bytes are stable.
    public func body() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// A session id for hooks: 16 random hex digits, unique enough to pair an admission with its `_done`.
    public static func newSessionID() -> String {
        String(UInt64.random(in: .min ... .max), radix: 16).leftPadded(to: 16)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

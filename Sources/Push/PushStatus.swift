import Foundation

/// What a push target is doing, as the API, the stats feed, `/metrics` and the console show it. The URL is
/// always masked.
public struct PushStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Switched off.
        case disabled
        /// On, waiting for the stream to go live.
        case idle
        case connecting
        case live
        /// The connection failed or broke; the next attempt is scheduled (`retryAt`).
        case retrying
        /// The platform refused the key; tried again only every 5 minutes or when switched off and on.
        case failed
    }

    public var id: String
    public var stream: String
    public var name: String
    public var url: String
    public var enabled: Bool
    public var state: State
    public var lastError: String?
    public var lastErrorAt: Date?
    public var connectedAt: Date?
    public var retryAt: Date?
    /// Connection attempts after the first, over the target's life in this process: every retry counts, whether or
    /// not it got through (five refused attempts in one outage are five).
    public var reconnects: Int
    public var bytesSent: Int
    /// Over the last second or so, while live.
    public var bitsPerSecond: Double?
    /// Frames dropped because the target did not take them fast enough (whole GOPs).
    public var framesDropped: Int
    /// Seconds from the publisher's frame arriving to it being handed to this target's socket, lately.
    public var lagSeconds: Double?
    /// States passed through, oldest first (the last 20), for tests and the console.
    public var history: [State]

    public init(id: String, stream: String, name: String, url: String, enabled: Bool) {
        self.id = id
        self.stream = stream
        self.name = name
        self.url = url
        self.enabled = enabled
        self.state = enabled ? .idle : .disabled
        self.reconnects = 0
        self.bytesSent = 0
        self.framesDropped = 0
        self.history = [self.state]
    }

    mutating func move(to state: State) {
        guard state != self.state else { return }
        self.state = state
        history.append(state)
        if history.count > 20 { history.removeFirst() }
    }
}

import Foundation

/// A cue bound to a frame: the time it appears and the JSON it carries to players.
public struct CueEvent: Sendable, Codable, Equatable {
    /// Position in the stream's cue log; server-sent events use it as their id.
    public var sequence: Int64
    public var id: String
    public var stream: String
    public var kind: CueKind
    /// The validated payload, as the JSON object text that goes into ID3 and the playlist.
    public var payload: String
    public var duration: Double?
    /// PTS of the bound frame in the MPEG-TS timeline (90 kHz).
    public var pts: Int64
    /// Program date time of the bound frame.
    public var programDateTime: Date
    public var source: Source
    public var createdAt: Date

    public enum Source: String, Sendable, Codable { case api, inBand = "in-band" }

    public init(
        sequence: Int64, id: String, stream: String, kind: CueKind, payload: String, duration: Double?, pts: Int64,
        programDateTime: Date, source: Source, createdAt: Date
    ) {
        self.sequence = sequence
        self.id = id
        self.stream = stream
        self.kind = kind
        self.payload = payload
        self.duration = duration
        self.pts = pts
        self.programDateTime = programDateTime
        self.source = source
        self.createdAt = createdAt
    }

    /// The JSON players receive (in ID3 `TXXX` and on the event feed): id, kind, payload, times.
    public var playerJSON: String {
        var object: [String: Any] = ["id": id, "kind": kind.rawValue, "pts": pts]
        object["payload"] = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) ?? [:]
        if let duration { object["duration"] = duration }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

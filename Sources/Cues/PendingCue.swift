import Foundation

/// A cue on its way to a frame. It travels through the stream hub in order with the media, so "the next frame"
/// means the next frame after the request, and the remuxer binds it and reports where.
public struct PendingCue: Sendable {
    public enum Target: Sendable, Equatable {
        /// The next frame to arrive.
        case nextFrame
        /// The first frame whose program date time is at or after the instant.
        case notBefore(Date)
        /// The first frame at or after this media time of the publish (ms): in-band cues.
        case mediaTime(Int64)
    }

    public var id: String
    public var kind: CueKind
    public var payload: String
    public var duration: Double?
    public var target: Target
    /// Called once, by the stream's `CueBinder`, when the cue is bound (or with nil if it cannot be).
    public let bound: @Sendable (BoundCue?) -> Void

    public init(id: String, kind: CueKind, payload: String, duration: Double?, target: Target, bound: @escaping @Sendable (BoundCue?) -> Void) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.duration = duration
        self.target = target
        self.bound = bound
    }

    /// The JSON players get, once the PTS is known.
    public func playerJSON(pts: Int64) -> String {
        CueEvent(
            sequence: 0, id: id, stream: "", kind: kind, payload: payload, duration: duration, pts: pts,
            programDateTime: Date(), source: .api, createdAt: Date()
        ).playerJSON
    }
}

/// Where a cue landed: the frame's PTS in the transport stream (90 kHz, `ms × 90 + 900 000`, as the TS segments
/// carry it), its program date time, and its presentation time on the publisher's clock.
public struct BoundCue: Sendable, Equatable {
    public var pts: Int64
    public var programDateTime: Date
    /// The frame's presentation time on the publisher's clock, ms.
    public var mediaTime: Int64
    /// The JSON players get (the same in ID3, DATERANGE and script data).
    public var playerJSON: String

    public init(pts: Int64, programDateTime: Date, mediaTime: Int64, playerJSON: String) {
        self.pts = pts
        self.programDateTime = programDateTime
        self.mediaTime = mediaTime
        self.playerJSON = playerJSON
    }

    /// The 90 kHz time in the transport stream of media time `ms` (900 000 leaves the muxer room for its PCR).
    public static func transportTime(ofMediaTime ms: Int64) -> Int64 { ms * 90 + 900_000 }
}

/// A cue on its frame, as every output carries it (ID3 and DATERANGE in HLS, `onCuePoint` in RTMP and FLV): the
/// player JSON, the frame's media time (ms, the publisher's clock, as RTMP and FLV timestamps count) and date.
public struct PlacedCue: Sendable, Equatable {
    public var id: String
    public var kind: CueKind
    public var json: String
    /// The frame's presentation time, ms.
    public var timestamp: Int64
    public var programDateTime: Date
    public var duration: Double?

    public init(id: String, kind: CueKind, json: String, timestamp: Int64, programDateTime: Date, duration: Double?) {
        self.id = id
        self.kind = kind
        self.json = json
        self.timestamp = timestamp
        self.programDateTime = programDateTime
        self.duration = duration
    }
}

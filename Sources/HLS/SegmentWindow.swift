import Foundation

/// The sliding window of a live playlist and the segments that slid out but must stay fetchable.
///
/// RFC 8216 §6.2.2: a removed segment stays available for its duration plus the playlist's duration, so a
/// client that loaded the playlist just before the removal can still fetch it.
public struct SegmentWindow: Sendable {
    public let windowSize: Int
    public let configuredTargetDuration: Double
    public private(set) var segments: [Segment] = []
    public private(set) var removed: [(segment: Segment, expiresAt: Date)] = []
    public private(set) var discontinuitySequence = 0
    public private(set) var ended = false
    /// `EXT-X-TARGETDURATION`, fixed for the life of the playlist (RFC 8216 §6.2.1): the configured duration,
    /// or the first segment's (the encoder's keyframe interval) when that is longer. The remuxer cuts later
    /// segments so none rounds above it (`SegmentCutter.maxDuration`).
    public private(set) var targetDuration: Int
    /// Set once the first segment fixed the target duration.
    public private(set) var targetDurationFixed = false

    public init(windowSize: Int, targetDuration: Double) {
        self.windowSize = max(windowSize, 1)
        self.configuredTargetDuration = targetDuration
        self.targetDuration = max(1, Int(targetDuration.rounded(.up)))
    }

    public var nextSequence: Int? { segments.last.map { $0.sequence + 1 } }

    /// Adds a finished segment; returns the removed segments whose grace time is over, now freed.
    @discardableResult
    public mutating func append(_ segment: Segment, now: Date) -> [Segment] {
        if !targetDurationFixed {
            targetDuration = max(targetDuration, Int(segment.duration.rounded()))
            targetDurationFixed = true
        }
        segments.append(segment)
        while segments.count > windowSize {
            let old = segments.removeFirst()
            let playlistDuration = segments.reduce(0) { $0 + $1.duration }
            if old.discontinuity { discontinuitySequence += 1 }
            removed.append((old, now.addingTimeInterval(old.duration + playlistDuration)))
        }
        return purge(now: now)
    }

    public mutating func end() { ended = true }

    /// Takes every listed segment out (still fetchable for its grace time), for a rendition whose next segment
    /// does not follow the last one listed: numbering by position from the media sequence stays right.
    public mutating func removeAll(now: Date) {
        let playlistDuration = segments.reduce(0) { $0 + $1.duration }
        for old in segments {
            if old.discontinuity { discontinuitySequence += 1 }
            removed.append((old, now.addingTimeInterval(old.duration + playlistDuration)))
        }
        segments = []
    }

    /// Frees removed segments whose grace time is over, and returns them.
    @discardableResult
    public mutating func purge(now: Date) -> [Segment] {
        guard removed.contains(where: { $0.expiresAt <= now }) else { return [] }
        let expired = removed.filter { $0.expiresAt <= now }.map(\.segment)
        removed.removeAll { $0.expiresAt <= now }
        return expired
    }

    public func segment(uri: String) -> Segment? {
        segments.first { $0.uri == uri } ?? removed.first { $0.segment.uri == uri }?.segment
    }

    public var playlist: MediaPlaylist {
        MediaPlaylist(
            targetDuration: targetDuration, mediaSequence: segments.first?.sequence ?? 0,
            discontinuitySequence: discontinuitySequence,
            entries: segments.map {
                .init(uri: $0.uri, duration: $0.duration, programDateTime: $0.programDateTime, discontinuity: $0.discontinuity, mapURI: $0.mapURI)
            }, ended: ended)
    }
}

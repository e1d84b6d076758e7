import Foundation

/// A media playlist (RFC 8216 §4.3.3) as values, rendered to text.
public struct MediaPlaylist: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var uri: String
        public var duration: Double
        public var programDateTime: Date
        public var discontinuity: Bool

        public init(uri: String, duration: Double, programDateTime: Date, discontinuity: Bool) {
            self.uri = uri
            self.duration = duration
            self.programDateTime = programDateTime
            self.discontinuity = discontinuity
        }
    }

    public var targetDuration: Int
    public var mediaSequence: Int
    public var discontinuitySequence: Int
    public var entries: [Entry]
    public var ended: Bool
    /// Rendered `EXT-X-DATERANGE` lines, listed after the header.
    public var dateRanges: [String] = []

    public init(targetDuration: Int, mediaSequence: Int, discontinuitySequence: Int, entries: [Entry], ended: Bool) {
        self.targetDuration = targetDuration
        self.mediaSequence = mediaSequence
        self.discontinuitySequence = discontinuitySequence
        self.entries = entries
        self.ended = ended
    }

    public func render() -> String {
        var lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:6",
            "#EXT-X-TARGETDURATION:\(targetDuration)",
            "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)",
            "#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)",
            // No EXT-X-INDEPENDENT-SEGMENTS: a GOP longer than the target duration is cut mid-GOP (the target
            // duration must not change), and that segment does not start with a keyframe.
        ] + dateRanges
        for entry in entries {
            if entry.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            lines.append("#EXT-X-PROGRAM-DATE-TIME:\(Self.formatDate(entry.programDateTime))")
            lines.append("#EXTINF:\(String(format: "%.3f", entry.duration)),")
            lines.append(entry.uri)
        }
        if ended { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// ISO 8601 with milliseconds in UTC, as `EXT-X-PROGRAM-DATE-TIME` and `EXT-X-DATERANGE` use.
    public static func formatDate(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = Double(milliseconds / 1000)
        var components = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(identifier: "UTC")!
        let parts = components.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: seconds))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!,
            parts.second!, Int(milliseconds % 1000))
    }
}

/// The multivariant playlist pointing at a stream's single rendition.
public struct MultivariantPlaylist: Sendable, Equatable {
    public var bandwidth: Int
    public var averageBandwidth: Int
    public var codecs: [String]
    public var resolution: (width: Int, height: Int)?
    public var frameRate: Double?
    public var mediaPlaylistURI: String

    public init(bandwidth: Int, averageBandwidth: Int, codecs: [String], resolution: (width: Int, height: Int)?, frameRate: Double?, mediaPlaylistURI: String) {
        self.bandwidth = bandwidth
        self.averageBandwidth = averageBandwidth
        self.codecs = codecs
        self.resolution = resolution
        self.frameRate = frameRate
        self.mediaPlaylistURI = mediaPlaylistURI
    }

    public static func == (a: MultivariantPlaylist, b: MultivariantPlaylist) -> Bool { a.render() == b.render() }

    public func render() -> String {
        var attributes = ["BANDWIDTH=\(bandwidth)", "AVERAGE-BANDWIDTH=\(averageBandwidth)"]
        if !codecs.isEmpty { attributes.append("CODECS=\"\(codecs.joined(separator: ","))\"") }
        if let resolution { attributes.append("RESOLUTION=\(resolution.width)x\(resolution.height)") }
        if let frameRate { attributes.append("FRAME-RATE=\(String(format: "%.3f", frameRate))") }
        // No EXT-X-INDEPENDENT-SEGMENTS here either: in a multivariant playlist it speaks for every media playlist.
        return "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:\(attributes.joined(separator: ","))\n\(mediaPlaylistURI)\n"
    }
}

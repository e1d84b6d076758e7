import Foundation

/// A media playlist (RFC 8216 §4.3.3) as values, rendered to text; with `lowLatency`, a Low-Latency HLS
/// playlist (draft-pantos-hls-rfc8216bis §4.4.3.7–§4.4.5.3: parts, server control, preload hint).
public struct MediaPlaylist: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var uri: String
        /// Seconds.
        public var duration: Double
        public var programDateTime: Date
        public var discontinuity: Bool
        /// The segment's `EXT-X-MAP` (fragmented MP4); written where it changes.
        public var mapURI: String?
        /// Its parts, listed before it (only for segments near the live edge).
        public var parts: [Part]

        public init(uri: String, duration: Double, programDateTime: Date, discontinuity: Bool, mapURI: String? = nil, parts: [Part] = []) {
            self.uri = uri
            self.duration = duration
            self.programDateTime = programDateTime
            self.discontinuity = discontinuity
            self.mapURI = mapURI
            self.parts = parts
        }
    }

    /// An `EXT-X-PART` line.
    public struct Part: Sendable, Equatable {
        public var uri: String
        /// Seconds.
        public var duration: Double
        public var independent: Bool

        public init(uri: String, duration: Double, independent: Bool) {
            self.uri = uri
            self.duration = duration
            self.independent = independent
        }
    }

    /// What a Low-Latency HLS playlist adds: all times in seconds.
    public struct LowLatency: Sendable, Equatable {
        /// `EXT-X-PART-INF:PART-TARGET`: no part is longer.
        public var partTarget: Double
        /// `PART-HOLD-BACK`: how far from the live edge a player starts (at least 3 part targets, §4.4.3.8).
        public var partHoldBack: Double
        /// `HOLD-BACK` for players that do not use parts (at least 3 target durations).
        public var holdBack: Double
        /// `CAN-SKIP-UNTIL` (at least 6 target durations, §4.4.3.8): delta updates are offered.
        public var canSkipUntil: Double?
        /// In a delta update: how many segments `EXT-X-SKIP` stands for.
        public var skippedSegments: Int?
        /// In a `v2` delta update: the IDs of date ranges no longer in the playlist.
        public var recentlyRemovedDateRanges: [String]?
        /// The segment being written: its parts so far, after the last whole segment.
        public var open: Entry?
        /// `EXT-X-PRELOAD-HINT:TYPE=PART`: the part that comes next.
        public var preloadHint: String?

        public init(partTarget: Double, partHoldBack: Double, holdBack: Double, open: Entry?, preloadHint: String?) {
            self.partTarget = partTarget
            self.partHoldBack = partHoldBack
            self.holdBack = holdBack
            self.open = open
            self.preloadHint = preloadHint
        }
    }

    public var targetDuration: Int
    public var mediaSequence: Int
    public var discontinuitySequence: Int
    public var entries: [Entry]
    public var ended: Bool
    /// Rendered `EXT-X-DATERANGE` lines, listed after the header.
    public var dateRanges: [String] = []
    /// Set for a Low-Latency HLS playlist.
    public var lowLatency: LowLatency?

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
        ]
        if let lowLatency {
            var control = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=\(Self.seconds(lowLatency.partHoldBack)),"
                + "HOLD-BACK=\(Self.seconds(lowLatency.holdBack))"
            if let until = lowLatency.canSkipUntil { control += ",CAN-SKIP-UNTIL=\(Self.seconds(until)),CAN-SKIP-DATERANGES=YES" }
            lines.append(control)
            lines.append("#EXT-X-PART-INF:PART-TARGET=\(Self.seconds(lowLatency.partTarget))")
        }
        lines += [
            "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)",
            "#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)",
            // No EXT-X-INDEPENDENT-SEGMENTS: a GOP longer than the target duration is cut mid-GOP (the target
            // duration must not change), and that segment does not start with a keyframe.
        ]
        lines += dateRanges
        if let skipped = lowLatency?.skippedSegments {
            // EXT-X-SKIP needs version 9, and 10 when it leaves out date ranges too (§8).
            lines[1] = lowLatency?.recentlyRemovedDateRanges == nil ? "#EXT-X-VERSION:9" : "#EXT-X-VERSION:10"
            var skip = "#EXT-X-SKIP:SKIPPED-SEGMENTS=\(skipped)"
            if let removed = lowLatency?.recentlyRemovedDateRanges {
                skip += ",RECENTLY-REMOVED-DATERANGES=\"\(removed.joined(separator: "\t"))\""
            }
            lines.append(skip)
        }
        var map: String?
        func head(_ entry: Entry, dated: Bool = true) {
            if entry.discontinuity { lines.append("#EXT-X-DISCONTINUITY") }
            if let uri = entry.mapURI, uri != map {
                lines.append("#EXT-X-MAP:URI=\"\(uri)\"")
                map = uri
            }
            if dated { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(Self.formatDate(entry.programDateTime))") }
            for part in entry.parts {
                lines.append("#EXT-X-PART:DURATION=\(Self.seconds(part.duration)),URI=\"\(part.uri)\"\(part.independent ? ",INDEPENDENT=YES" : "")")
            }
        }
        for entry in entries {
            head(entry)
            lines.append("#EXTINF:\(String(format: "%.3f", entry.duration)),")
            lines.append(entry.uri)
        }
        if let lowLatency {
            // The open segment's parts follow on from the last segment's date; a date with no segment after it
            // yet makes GStreamer's hlsdemux2 lose its place in the playlist.
            if let open = lowLatency.open { head(open, dated: false) }
            if let hint = lowLatency.preloadHint, !ended { lines.append("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"\(hint)\"") }
        }
        if ended { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Seconds with up to five decimals and no trailing zeros, as part durations need (0.2, 0.20022).
    static func seconds(_ value: Double) -> String {
        var text = String(format: "%.5f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
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

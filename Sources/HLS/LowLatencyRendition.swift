import Foundation

/// A stream's CMAF rendition for Low-Latency HLS (draft-pantos-hls-rfc8216bis): its whole segments (the same
/// Media Sequence Numbers as the MPEG-TS rendition, cut at the same frames), the parts of the segment being
/// written, and the initialization segments they need. Values only: `HLSStream` holds it under its lock.
public struct LowLatencyRendition: Sendable {
    /// Whole segments, each with its parts and `mapURI`.
    public private(set) var window: SegmentWindow
    /// The segment being written, once its first part closed.
    public private(set) var open: Open?
    /// Initialization segments by URI, kept while a listed or still-served segment needs them.
    public private(set) var maps: [String: SegmentFile] = [:]
    /// The map the segments being written need.
    public private(set) var currentMap: String?
    /// `PART-TARGET` in seconds: fixed, like the target duration, once the first segment is whole.
    public private(set) var partTarget: Double?

    public struct Open: Sendable {
        public var sequence: Int
        public var programDateTime: Date
        public var discontinuity: Bool
        public var mapURI: String?
        public var parts: [PartialSegment]
    }

    /// How many target durations from the live edge segments keep their parts listed (§6.2.2: at least the
    /// last three).
    static let partsListedForTargetDurations = 3.0

    public init(windowSize: Int, targetDuration: Double) {
        window = SegmentWindow(windowSize: windowSize, targetDuration: targetDuration)
    }

    // MARK: Writing

    /// A new timeline starts (first publish, new codec parameters): its segments need `uri`.
    public mutating func addMap(uri: String, file: SegmentFile) {
        maps[uri] = file
        currentMap = uri
    }

    /// Fixes `PART-TARGET`; later calls change nothing.
    public mutating func fixPartTarget(_ seconds: Double) {
        if partTarget == nil { partTarget = seconds }
    }

    /// Lists a part of the segment being written. The first part of a sequence opens it.
    public mutating func append(part: PartialSegment, programDateTime: Date, discontinuity: Bool) {
        if open?.sequence != part.sequence {
            open = Open(sequence: part.sequence, programDateTime: programDateTime, discontinuity: discontinuity, mapURI: currentMap, parts: [])
        }
        open?.parts.append(part)
    }

    /// Lists a whole segment; its parts are then served from its own file. One that does not follow the last
    /// listed (the rendition stopped for a while) starts the list again: a playlist numbers its segments by
    /// position, so a gap would misnumber every later one.
    public mutating func append(segment: Segment, now: Date) {
        if open?.sequence == segment.sequence { open = nil }
        if let last = window.segments.last?.sequence, segment.sequence != last + 1 { window.removeAll(now: now) }
        window.append(segment, now: now)
        pruneMaps()
    }

    /// Drops the segment being written (the rendition stopped): its parts and the hint stop being listed.
    public mutating func abandonOpen() { open = nil }

    public mutating func end() {
        open = nil
        window.end()
    }

    public mutating func purge(now: Date) {
        if !window.purge(now: now).isEmpty { pruneMaps() }
    }

    private mutating func pruneMaps() {
        var needed = Set(window.segments.compactMap(\.mapURI) + window.removed.compactMap(\.segment.mapURI))
        if let currentMap { needed.insert(currentMap) }
        maps = maps.filter { needed.contains($0.key) }
    }

    // MARK: Reading

    /// The newest position a blocking reload can ask for: the last Media Sequence Number listed (whole or
    /// open) and its last part (nil when that segment is whole and ends the list).
    public var lastPosition: (sequence: Int, part: Int?)? {
        if let open, let last = open.parts.last { return (open.sequence, last.index) }
        return window.segments.last.map { ($0.sequence, nil) }
    }

    /// Whether the playlist holds segment `sequence` whole (`part` nil) or its part `part`. A part index past
    /// the end of a whole segment means the next segment's part 0 (§6.2.5.2).
    public func contains(sequence: Int, part: Int?) -> Bool {
        if let whole = window.segments.last?.sequence, sequence <= whole {
            guard let part, sequence == whole else { return true }
            let count = window.segments.last!.parts.count
            return part < count || contains(sequence: sequence + 1, part: 0)
        }
        guard let part, let open, open.sequence == sequence else {
            return open.map { sequence < $0.sequence } ?? false
        }
        return part < open.parts.count
    }

    /// The bytes of a part, a segment or an initialization segment by URI.
    public func file(uri: String) -> (file: SegmentFile, range: Range<Int>)? {
        if let map = maps[uri] { return (map, 0..<map.size) }
        if let part = open?.parts.first(where: { $0.uri == uri }) { return (part.file, part.byteRange) }
        if let segment = window.segment(uri: uri) { return (segment.file, 0..<segment.file.size) }
        // A part of a whole segment: `<epoch>-<sequence>.<index>.m4s`.
        guard let dot = uri.dropLast(4).lastIndex(of: "."), let index = Int(uri[uri.index(after: dot)..<uri.index(uri.endIndex, offsetBy: -4)]) else {
            return nil
        }
        let segmentURI = uri[..<dot] + ".m4s"
        guard let segment = window.segment(uri: String(segmentURI)), index >= 0, index < segment.parts.count else { return nil }
        return (segment.file, segment.parts[index].byteRange)
    }

    /// Where the next part will be: what `EXT-X-PRELOAD-HINT` names.
    public func nextPart(epoch: String) -> (sequence: Int, index: Int)? {
        if let open { return (open.sequence, open.parts.count) }
        return window.segments.last.map { ($0.sequence + 1, 0) }
    }

    /// How far from the end of the playlist a delta update keeps segments (`CAN-SKIP-UNTIL`): six target
    /// durations, the draft's least (§4.4.3.8).
    public var skipBoundary: Double { 6 * Double(window.targetDuration) }

    /// How many segments from the start a delta update leaves out: those that end more than the skip boundary
    /// before the end of the last whole segment.
    public var skippableSegments: Int {
        var kept = 0.0
        var count = window.segments.count
        while count > 0, kept < skipBoundary {
            count -= 1
            kept += window.segments[count].duration
        }
        return count
    }

    /// The playlist as it stands, or nil before the first whole segment (the part target is fixed then); with
    /// `skip`, a delta update (§6.2.5.1) without the segments `skippableSegments` counts.
    public func playlist(epoch: String, ended: Bool, skip: Bool = false) -> MediaPlaylist? {
        guard let partTarget, !window.segments.isEmpty else { return nil }
        var playlist = window.playlist
        playlist.ended = ended
        // Parts of the segments within three target durations of the live edge.
        var listedFrom = playlist.entries.count
        var span = 0.0
        while listedFrom > 0, span < Self.partsListedForTargetDurations * Double(window.targetDuration) {
            listedFrom -= 1
            span += playlist.entries[listedFrom].duration
        }
        for index in listedFrom..<playlist.entries.count {
            let segment = window.segments[index]
            playlist.entries[index].parts = segment.parts.indices.map { part in
                .init(
                    uri: PartialSegment.uri(epoch: epoch, sequence: segment.sequence, index: part), duration: segment.parts[part].duration,
                    independent: segment.parts[part].independent)
            }
        }
        let openEntry = open.map { open in
            MediaPlaylist.Entry(
                uri: "", duration: 0, programDateTime: open.programDateTime, discontinuity: open.discontinuity, mapURI: open.mapURI,
                parts: open.parts.map { .init(uri: $0.uri, duration: $0.duration, independent: $0.independent) })
        }
        let hint = nextPart(epoch: epoch).map { PartialSegment.uri(epoch: epoch, sequence: $0.sequence, index: $0.index) }
        playlist.lowLatency = .init(
            partTarget: partTarget, partHoldBack: 3 * partTarget, holdBack: 3 * Double(window.targetDuration), open: openEntry,
            preloadHint: ended ? nil : hint)
        playlist.lowLatency?.canSkipUntil = skipBoundary
        if skip {
            let skipped = skippableSegments
            playlist.entries.removeFirst(skipped)
            playlist.lowLatency?.skippedSegments = skipped
        }
        return playlist
    }
}

/// How HLS output is made and kept.
public struct HLSConfiguration: Sendable, Equatable {
    /// Target segment duration in seconds; segments end at the first keyframe past it.
    public var segmentDuration: Double = 2
    /// Part target in seconds for Low-Latency HLS: parts end at the first frame that reaches it.
    public var partDuration: Double = 0.2
    /// Also make the CMAF rendition for Low-Latency HLS (`ll.m3u8`).
    public var lowLatency = true
    /// Segments listed in a live playlist.
    public var windowSize = 6
    /// Seconds a playlist stays live after its publisher leaves; a republish within it continues the playlist.
    public var gracePeriod: Double = 10
    /// Seconds an ended playlist stays available.
    public var retention: Double = 600
    /// Longest wait, in ms, for a silent track before packets of the others go out without it.
    public var interleaveWait: Int64 = 500
    /// Parts one fMP4 muxer writes before a segment boundary replaces it (libavformat keeps a record of every
    /// fragment while it lives; see `CMAFSegmentWriter`). A minute of 200 ms parts: the record stays under 24 KB
    /// per stream, and a 60-minute soak sees no saw-tooth in memory. Tests make it smaller.
    public var fragmentsPerMuxer = 300
    /// Also write segments and playlists under this directory.
    public var mirrorDirectory: String?

    public init() {}
}

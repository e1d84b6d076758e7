import Foundation

/// A finished media segment: its bytes, one file shared by every viewer, and what the playlist says about it.
public struct Segment: Sendable {
    /// A run of frames inside the segment that ends on a frame boundary (the unit of Low-Latency HLS).
    public struct Part: Sendable, Equatable {
        public var duration: Double
        public var independent: Bool
        public var byteRange: Range<Int>

        public init(duration: Double, independent: Bool, byteRange: Range<Int>) {
            self.duration = duration
            self.independent = independent
            self.byteRange = byteRange
        }
    }

    public var sequence: Int
    public var uri: String
    public var duration: Double
    public var programDateTime: Date
    /// True when this segment follows a break in timestamps or codec parameters.
    public var discontinuity: Bool
    /// PTS of the first frame, 90 kHz, as written in the transport stream.
    public var startPTS: Int64
    public var parts: [Part]
    public var file: SegmentFile
    public var videoFrames: Int
    public var audioFrames: Int
    /// The initialization segment (`EXT-X-MAP`) a fragmented MP4 segment needs; nil for MPEG-TS.
    public var mapURI: String?

    public init(
        sequence: Int, uri: String, duration: Double, programDateTime: Date, discontinuity: Bool, startPTS: Int64,
        parts: [Part], file: SegmentFile, videoFrames: Int = 0, audioFrames: Int = 0, mapURI: String? = nil
    ) {
        self.sequence = sequence
        self.uri = uri
        self.duration = duration
        self.programDateTime = programDateTime
        self.discontinuity = discontinuity
        self.startPTS = startPTS
        self.parts = parts
        self.file = file
        self.videoFrames = videoFrames
        self.audioFrames = audioFrames
        self.mapURI = mapURI
    }

    /// Bits per second of this segment.
    public var bitrate: Double { duration > 0 ? Double(file.size * 8) / duration : 0 }
}

import Foundation

/// A part of the segment being written (Low-Latency HLS, draft-pantos-hls-rfc8216bis §4.4.4.9): one CMAF
/// fragment, listed with `EXT-X-PART` and fetchable before its segment is complete.
public struct PartialSegment: Sendable {
    /// The Media Sequence Number of the segment it belongs to.
    public var sequence: Int
    /// Its place in that segment, from 0.
    public var index: Int
    public var uri: String
    /// Seconds.
    public var duration: Double
    /// Starts with a keyframe: a player can begin decoding here (`INDEPENDENT=YES`).
    public var independent: Bool
    /// The open segment's file as it stood when the part closed; `byteRange` lies within it and never changes.
    public var file: SegmentFile
    public var byteRange: Range<Int>

    public init(sequence: Int, index: Int, uri: String, duration: Double, independent: Bool, file: SegmentFile, byteRange: Range<Int>) {
        self.sequence = sequence
        self.index = index
        self.uri = uri
        self.duration = duration
        self.independent = independent
        self.file = file
        self.byteRange = byteRange
    }

    /// `<epoch>-<sequence>.<index>.m4s`: unique for as long as the epoch is (never reused across restarts).
    public static func uri(epoch: String, sequence: Int, index: Int) -> String { "\(epoch)-\(sequence).\(index).m4s" }
}

extension PartialSegment {
    /// The Media Sequence Number and part index a part URI names, if it names one.
    public static func position(uri: String) -> (sequence: Int, index: Int)? {
        guard uri.hasSuffix(".m4s"), let dash = uri.lastIndex(of: "-") else { return nil }
        let numbers = uri[uri.index(after: dash)...].dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 2, let sequence = Int(numbers[0]), let index = Int(numbers[1]), sequence >= 0, index >= 0 else { return nil }
        return (sequence, index)
    }
}

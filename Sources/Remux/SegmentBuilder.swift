import Foundation
import HLS

/// The segment being written: its file, its parts and the frames in it. Its newest bytes are still in the
/// muxer's output.
struct SegmentBuilder {
    let sequence: Int
    let startPTS: Int64
    let programDateTime: Date
    let discontinuity: Bool
    let file: SegmentFile.Writer
    var parts: [Segment.Part] = []
    var partStartPTS: Int64
    var partStartByte = 0
    var partIndependent = true
    var videoFrames = 0
    /// PTS of the frames that set the pace (video, or audio without video), for cues placed at a past instant.
    var pacePTS: [Int64] = []
    var audioFrames = 0
    /// Where the last frame written ends, 90 kHz (its PTS plus its duration).
    var endPTS: Int64

    init(sequence: Int, startPTS: Int64, programDateTime: Date, discontinuity: Bool, file: SegmentFile.Writer) {
        self.sequence = sequence
        self.startPTS = startPTS
        self.programDateTime = programDateTime
        self.discontinuity = discontinuity
        self.file = file
        self.partStartPTS = startPTS
        self.endPTS = startPTS
    }

    var isEmpty: Bool { videoFrames + audioFrames == 0 }

    /// Closes the current part where the segment's output now ends (after a muxer flush).
    mutating func closePart(at byteCount: Int, endPTS: Int64) {
        guard byteCount > partStartByte else { return }
        parts.append(
            .init(
                duration: Double(max(endPTS - partStartPTS, 0)) / 90000, independent: partIndependent,
                byteRange: partStartByte..<byteCount))
        partStartByte = byteCount
        partStartPTS = endPTS
        partIndependent = false
    }
}

import Foundation
import HLS

/// The segment being written: bytes so far, its parts, and the frames in it.
struct SegmentBuilder {
    let sequence: Int
    let startPTS: Int64
    let programDateTime: Date
    let discontinuity: Bool
    var bytes: [UInt8] = []
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

    init(sequence: Int, startPTS: Int64, programDateTime: Date, discontinuity: Bool) {
        self.sequence = sequence
        self.startPTS = startPTS
        self.programDateTime = programDateTime
        self.discontinuity = discontinuity
        self.partStartPTS = startPTS
        self.endPTS = startPTS
    }

    var isEmpty: Bool { videoFrames + audioFrames == 0 }

    /// Closes the current part with the bytes the muxer flushed for it.
    mutating func closePart(output: [UInt8], endPTS: Int64) {
        bytes.append(contentsOf: output)
        guard bytes.count > partStartByte else { return }
        parts.append(.init(duration: Double(max(endPTS - partStartPTS, 0)) / 90000, independent: partIndependent, byteRange: partStartByte..<bytes.count))
        partStartByte = bytes.count
        partStartPTS = endPTS
        partIndependent = false
    }
}

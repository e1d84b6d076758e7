import Foundation
import HLS
import NIOCore

/// The segment being written: bytes so far, its parts, and the frames in it.
struct SegmentBuilder {
    let sequence: Int
    let startPTS: Int64
    let programDateTime: Date
    let discontinuity: Bool
    /// Reserved at about the previous segment's size, so it is written once, without regrowing.
    var bytes: ByteBuffer
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

    init(sequence: Int, startPTS: Int64, programDateTime: Date, discontinuity: Bool, expectedBytes: Int = 64 * 1024) {
        self.bytes = ByteBufferAllocator().buffer(capacity: expectedBytes)
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
        bytes.writeBytes(output)
        guard bytes.readableBytes > partStartByte else { return }
        parts.append(
            .init(
                duration: Double(max(endPTS - partStartPTS, 0)) / 90000, independent: partIndependent,
                byteRange: partStartByte..<bytes.readableBytes))
        partStartByte = bytes.readableBytes
        partStartPTS = endPTS
        partIndependent = false
    }
}

import Foundation

/// Wall-clock time of a publish's media: the instant its first frame arrived, and that frame's presentation
/// time. Every later frame's date follows from media time (ms) and never jitters with arrival.
public struct MediaClock: Sendable, Equatable {
    public let anchorDate: Date
    /// Presentation time of the first frame, ms on the publisher's clock.
    public let anchorPTS: Int64

    public init(anchorDate: Date, anchorPTS: Int64) {
        self.anchorDate = anchorDate
        self.anchorPTS = anchorPTS
    }

    /// The program date time of media time `pts` (ms).
    public func date(ofPTS pts: Int64) -> Date {
        anchorDate.addingTimeInterval(Double(pts - anchorPTS) / 1000)
    }
}

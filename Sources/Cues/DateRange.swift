import Foundation

/// An `EXT-X-DATERANGE` tag for a cue (RFC 8216 §4.3.2.7).
///
/// The payload travels in `X-CUECAST-PAYLOAD` as base64 of the player JSON: base64's alphabet never contains a
/// quote, comma or line break, so the attribute is always a valid quoted string whatever the JSON holds.
public struct DateRange: Sendable, Equatable {
    public var id: String
    public var kind: CueKind
    public var startDate: Date
    public var duration: Double?
    public var playerJSON: String

    public init(id: String, kind: CueKind, startDate: Date, duration: Double?, playerJSON: String) {
        self.id = id
        self.kind = kind
        self.startDate = startDate
        self.duration = duration
        self.playerJSON = playerJSON
    }

    /// A new pin ends the last one: pins say END-ON-NEXT, which excludes DURATION.
    public var endsOnNext: Bool { kind == .productPin && duration == nil }

    public func render(formatDate: (Date) -> String) -> String {
        var attributes = [
            "ID=\"\(id)\"", "CLASS=\"\(kind.dateRangeClass)\"", "START-DATE=\"\(formatDate(startDate))\"",
        ]
        if endsOnNext {
            attributes.append("END-ON-NEXT=YES")
        } else if let duration {
            attributes.append("DURATION=\(String(format: "%.3f", duration))")
        }
        attributes.append("X-CUECAST-PAYLOAD=\"\(Data(playerJSON.utf8).base64EncodedString())\"")
        return "#EXT-X-DATERANGE:" + attributes.joined(separator: ",")
    }
}

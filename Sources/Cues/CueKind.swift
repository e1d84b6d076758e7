/// What a cue does on the viewer's screen.
public enum CueKind: String, Sendable, Codable, CaseIterable {
    case productPin = "product.pin"
    case productUnpin = "product.unpin"
    case coupon
    case lottery
    case announcement
    case custom

    /// `CLASS` of the cue's `EXT-X-DATERANGE`.
    public var dateRangeClass: String { "com.cuecast.\(rawValue)" }
}

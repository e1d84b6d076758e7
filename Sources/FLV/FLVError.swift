/// What can be wrong in FLV tag bytes or the AMF values they carry, precisely enough for a log line.
public enum FLVError: Error, Equatable, Sendable, CustomStringConvertible {
    case amfNestingTooDeep(limit: Int)
    case amfTruncated
    case amfUnknownMarker(UInt8)
    case amfUnsupported(String)
    /// A tag body that does not parse: `type` is the FLV/RTMP tag type (8 audio, 9 video, 18 script data).
    case malformedTag(type: UInt8, reason: String)

    public var description: String {
        switch self {
        case .amfNestingTooDeep(let l): "AMF nesting deeper than \(l)"
        case .amfTruncated: "truncated AMF value"
        case .amfUnknownMarker(let m): "unknown AMF marker \(m)"
        case .amfUnsupported(let what): "unsupported AMF value: \(what)"
        case .malformedTag(let t, let r): "malformed tag type \(t): \(r)"
        }
    }
}

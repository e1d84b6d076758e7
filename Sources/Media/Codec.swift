/// Codecs the ingest recognises. Names follow the FourCC or the common short name.
public enum Codec: String, Sendable, Hashable, Codable {
    case h264
    case hevc
    case av1
    case vp9
    case aac
    case mp3
    case opus
    case flac
    case ac3
    case eac3
    case other

    public var track: Track {
        switch self {
        case .h264, .hevc, .av1, .vp9: .video
        case .aac, .mp3, .opus, .flac, .ac3, .eac3: .audio
        case .other: .data
        }
    }
}

/// The kind of elementary stream a packet belongs to.
public enum Track: String, Sendable, Hashable, Codable, CaseIterable {
    case video
    case audio
    case data

    /// 0, 1, 2: for per-track state kept in arrays, which code that runs for every packet prefers to dictionaries.
    public var index: Int {
        switch self {
        case .video: 0
        case .audio: 1
        case .data: 2
        }
    }
}

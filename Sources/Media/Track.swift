/// The kind of elementary stream a packet belongs to.
public enum Track: String, Sendable, Hashable, Codable, CaseIterable {
    case video
    case audio
    case data
}

import Media

/// What a reader of a stream path sees, in order.
public enum StreamEvent: Sendable {
    /// A publisher started; `remoteAddress` is where it connected from.
    case started(remoteAddress: String)
    case packet(MediaPacket)
    /// The publisher is gone.
    case ended(reason: String)
}

import Cues
import Media

/// What a reader of a stream path sees, in order.
public enum StreamEvent: Sendable {
    /// A publisher started; `remoteAddress` is where it connected from.
    case started(remoteAddress: String)
    case packet(MediaPacket)
    /// A cue to bind to a frame, in order with the packets around it.
    case cue(PendingCue)
    /// The publisher is gone.
    case ended(reason: String)
}

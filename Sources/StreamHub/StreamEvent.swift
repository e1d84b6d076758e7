import Cues
import Media
import NIOCore

/// One publish of a stream path: unique for the life of the server, so an output that follows a path across
/// publishes can tell whose event it holds.
public struct PublishID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}

/// What a reader of a stream sees, in order, stamped with the publish it belongs to.
public struct StreamEvent: Sendable {
    public enum Kind: Sendable {
        /// A publisher started; `remoteAddress` is where it connected from.
        case started(remoteAddress: String)
        case packet(MediaPacket)
        /// The publisher's `onMetaData`, as a script data body (AMF0 `"onMetaData"` and an ECMA array).
        case metadata(ByteBuffer)
        /// The publish's media clock, once, right before its first frame: outputs date frames by it.
        case clock(MediaClock)
        /// A cue the stream's binder placed on a frame: right before that frame when the frame decided it, at once
        /// when it went to a frame already delivered (an instant just passed).
        case cuePlaced(PlacedCue)
        /// The publisher is gone; nothing of this publish follows.
        case ended(reason: String)

        /// A frame (or end of sequence) or a cue: what a reader waiting for a keyframe must not get yet.
        var isMediaOrCue: Bool {
            switch self {
            case .packet(let packet): packet.kind != .sequenceHeader
            case .cuePlaced: true
            case .started, .metadata, .clock, .ended: false
            }
        }
    }

    public let publish: PublishID
    public let kind: Kind
    /// Bytes readers made from this event, so the second reader of a format reuses the first one's.
    public let encodings: SharedEncodings

    public init(publish: PublishID, kind: Kind, encodings: SharedEncodings = SharedEncodings()) {
        self.publish = publish
        self.kind = kind
        self.encodings = encodings
    }

    /// The packet, if this is a coded frame.
    public var frame: MediaPacket? {
        if case .packet(let packet) = kind, packet.kind == .frame { return packet }
        return nil
    }
}

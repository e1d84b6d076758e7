import FLV
import Media
import NIOCore

/// The messages a player is sent, made from a stream's values: the outbound half of what `ServerSession` reads
/// from a publisher (after MediaMTX's `FromStream`). Pure: values in, messages out.
public enum PlayMessages {
    /// Chunk streams as nginx-rtmp uses them, so captures of the two look alike.
    public static let dataChunkStream: UInt32 = 5
    public static let audioChunkStream: UInt32 = 6
    public static let videoChunkStream: UInt32 = 7

    /// An audio or video message for `packet` (FLV tag body: tag header, then the payload); nil for a codec FLV
    /// does not carry here.
    public static func media(_ packet: MediaPacket, messageStreamID: UInt32) -> RTMPMessage? {
        FLVTagEncoder.body(for: packet).map { message(for: packet, messageStreamID: messageStreamID, body: $0) }
    }

    /// `media(_:messageStreamID:)` already chunked at `chunkSize`, in a buffer of its own: the tag header and the
    /// frame go straight into the chunks (`ChunkEncoder.chunked(_:prefix:chunkSize:)`), so the frame is copied
    /// once. Nil for a codec FLV does not carry.
    public static func chunkedMedia(_ packet: MediaPacket, messageStreamID: UInt32, chunkSize: Int) -> ByteBuffer? {
        guard let header = FLVTagEncoder.header(for: packet) else { return nil }
        let frame = message(for: packet, messageStreamID: messageStreamID, body: packet.payload)
        return ChunkEncoder.chunked(frame, prefix: header, chunkSize: chunkSize)
    }

    private static func message(for packet: MediaPacket, messageStreamID: UInt32, body: ByteBuffer) -> RTMPMessage {
        let isVideo = packet.track == .video
        return RTMPMessage(
            chunkStreamID: isVideo ? videoChunkStream : audioChunkStream, timestamp: UInt32(truncatingIfNeeded: packet.dts),
            typeID: isVideo ? MessageType.video.rawValue : MessageType.audio.rawValue, messageStreamID: messageStreamID,
            payload: body)
    }

    /// A data message (type 18) with a script data body (`onMetaData`, `onCuePoint`) at `timestamp` ms.
    public static func data(_ body: ByteBuffer, timestamp: Int64, messageStreamID: UInt32) -> RTMPMessage {
        RTMPMessage(
            chunkStreamID: dataChunkStream, timestamp: UInt32(truncatingIfNeeded: timestamp),
            typeID: MessageType.dataAMF0.rawValue, messageStreamID: messageStreamID, payload: body)
    }

    /// The publisher left: `NetStream.Play.UnpublishNotify` and Stream EOF. The play stays open for a republish.
    public static func unpublished(_ request: PlayRequest) -> [RTMPMessage] {
        let status = Command.onStatus(
            level: "status", code: "NetStream.Play.UnpublishNotify", description: "\(request.app)/\(request.name) is now unpublished.")
        return [
            status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID),
            ControlMessage.userControl(.with(type: UserControlEvent.streamEOF, value: request.messageStreamID)).message(),
        ]
    }

    /// A publisher is back: Stream Begin and `NetStream.Play.PublishNotify`; metadata and headers follow.
    public static func republished(_ request: PlayRequest) -> [RTMPMessage] {
        let status = Command.onStatus(
            level: "status", code: "NetStream.Play.PublishNotify", description: "\(request.app)/\(request.name) is now published.")
        return [
            ControlMessage.userControl(.with(type: UserControlEvent.streamBegin, value: request.messageStreamID)).message(),
            status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID),
        ]
    }
}

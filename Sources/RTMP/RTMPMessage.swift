import FLV
import NIOCore

/// A whole RTMP message, reassembled from its chunks.
public struct RTMPMessage: Sendable, Equatable {
    public var chunkStreamID: UInt32
    /// 32-bit RTMP timestamp in milliseconds, as sent; wraps around.
    public var timestamp: UInt32
    public var typeID: UInt8
    public var messageStreamID: UInt32
    public var payload: ByteBuffer

    public init(chunkStreamID: UInt32, timestamp: UInt32, typeID: UInt8, messageStreamID: UInt32, payload: ByteBuffer) {
        self.chunkStreamID = chunkStreamID
        self.timestamp = timestamp
        self.typeID = typeID
        self.messageStreamID = messageStreamID
        self.payload = payload
    }

    public var type: MessageType? { MessageType(rawValue: typeID) }

    /// The AMF0 values of a command or data message. AMF3 messages (17, 15) start with a format byte that is 0
    /// when, as every publisher does, they go on in AMF0.
    var amf0Body: ByteBuffer {
        var payload = self.payload
        if type == .commandAMF3 || type == .dataAMF3, payload.getInteger(at: payload.readerIndex, as: UInt8.self) == 0 {
            payload.moveReaderIndex(forwardBy: 1)
        }
        return payload
    }
}

/// RTMP message type ids.
public enum MessageType: UInt8, Sendable {
    case setChunkSize = 1
    case abort = 2
    case acknowledgement = 3
    case userControl = 4
    case windowAcknowledgementSize = 5
    case setPeerBandwidth = 6
    case audio = 8
    case video = 9
    case dataAMF3 = 15
    case sharedObjectAMF3 = 16
    case commandAMF3 = 17
    case dataAMF0 = 18
    case sharedObjectAMF0 = 19
    case commandAMF0 = 20
    case aggregate = 22
}

/// Chunk stream ids the server writes on, following common practice.
public enum ChunkStreamID {
    public static let control: UInt32 = 2
    public static let command: UInt32 = 3
    public static let status: UInt32 = 5
}

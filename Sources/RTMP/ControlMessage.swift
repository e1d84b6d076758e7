import NIOCore

/// Protocol control messages (types 1–6) and User Control events, as values.
public enum ControlMessage: Sendable, Equatable {
    case setChunkSize(UInt32)
    case abort(chunkStreamID: UInt32)
    case acknowledgement(sequenceNumber: UInt32)
    case windowAcknowledgementSize(UInt32)
    case setPeerBandwidth(UInt32, limitType: UInt8)
    case userControl(UserControlEvent)

    /// Parses a control message; returns nil for other message types.
    public init?(_ message: RTMPMessage) throws(RTMPError) {
        var payload = message.payload
        func u32() throws(RTMPError) -> UInt32 {
            guard let v = payload.readInteger(as: UInt32.self) else {
                throw .malformedMessage(type: message.typeID, reason: "too short")
            }
            return v
        }
        switch message.type {
        case .setChunkSize: self = .setChunkSize(try u32() & 0x7FFF_FFFF)
        case .abort: self = .abort(chunkStreamID: try u32())
        case .acknowledgement: self = .acknowledgement(sequenceNumber: try u32())
        case .windowAcknowledgementSize: self = .windowAcknowledgementSize(try u32())
        case .setPeerBandwidth:
            let size = try u32()
            guard let limit = payload.readInteger(as: UInt8.self) else {
                throw .malformedMessage(type: message.typeID, reason: "too short")
            }
            self = .setPeerBandwidth(size, limitType: limit)
        case .userControl:
            guard let event = payload.readInteger(as: UInt16.self) else {
                throw .malformedMessage(type: message.typeID, reason: "too short")
            }
            self = .userControl(UserControlEvent(type: event, data: payload))
        default:
            return nil
        }
    }

    public var typeID: UInt8 {
        switch self {
        case .setChunkSize: MessageType.setChunkSize.rawValue
        case .abort: MessageType.abort.rawValue
        case .acknowledgement: MessageType.acknowledgement.rawValue
        case .windowAcknowledgementSize: MessageType.windowAcknowledgementSize.rawValue
        case .setPeerBandwidth: MessageType.setPeerBandwidth.rawValue
        case .userControl: MessageType.userControl.rawValue
        }
    }

    /// The message on chunk stream 2, message stream 0, as the spec requires.
    public func message(timestamp: UInt32 = 0) -> RTMPMessage {
        var payload = ByteBufferAllocator().buffer(capacity: 10)
        switch self {
        case .setChunkSize(let v), .abort(let v), .acknowledgement(let v), .windowAcknowledgementSize(let v):
            payload.writeInteger(v)
        case .setPeerBandwidth(let size, let limit):
            payload.writeInteger(size)
            payload.writeInteger(limit)
        case .userControl(let event):
            payload.writeInteger(event.type)
            var data = event.data
            payload.writeBuffer(&data)
        }
        return RTMPMessage(
            chunkStreamID: ChunkStreamID.control, timestamp: timestamp, typeID: typeID, messageStreamID: 0,
            payload: payload)
    }
}

/// A User Control event: a 16-bit type and its data.
public struct UserControlEvent: Sendable, Equatable {
    public static let streamBegin: UInt16 = 0
    public static let streamEOF: UInt16 = 1
    public static let setBufferLength: UInt16 = 3
    public static let pingRequest: UInt16 = 6
    public static let pingResponse: UInt16 = 7

    public var type: UInt16
    public var data: ByteBuffer

    public init(type: UInt16, data: ByteBuffer) {
        self.type = type
        self.data = data
    }

    public static func with(type: UInt16, value: UInt32) -> UserControlEvent {
        var data = ByteBufferAllocator().buffer(capacity: 4)
        data.writeInteger(value)
        return UserControlEvent(type: type, data: data)
    }
}

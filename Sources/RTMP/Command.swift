import FLV
import NIOCore

/// An AMF command: name, transaction id, command object, then arguments.
public struct Command: Sendable, Equatable {
    public var name: String
    public var transactionID: Double
    public var commandObject: AMF0Value
    public var arguments: [AMF0Value]

    public init(name: String, transactionID: Double, commandObject: AMF0Value = .null, arguments: [AMF0Value] = []) {
        self.name = name
        self.transactionID = transactionID
        self.commandObject = commandObject
        self.arguments = arguments
    }

    /// Decodes a command message (type 20, or type 17 whose AMF3 body starts with a zero format byte and then
    /// carries AMF0 values).
    public init(_ message: RTMPMessage, decoder: AMF0Decoder = AMF0Decoder()) throws(RTMPError) {
        var payload = message.amf0Body
        let values = try decodingFLV { () throws(FLVError) in try decoder.decodeAll(&payload) }.map(\.withoutAMF3)
        guard let name = values.first?.stringValue else { throw .malformedCommand("command name is not a string") }
        self.name = name
        self.transactionID = values.count > 1 ? (values[1].numberValue ?? 0) : 0
        self.commandObject = values.count > 2 ? values[2] : .null
        self.arguments = values.count > 3 ? Array(values[3...]) : []
    }

    public func message(chunkStreamID: UInt32 = ChunkStreamID.command, messageStreamID: UInt32 = 0) -> RTMPMessage {
        var payload = ByteBufferAllocator().buffer(capacity: 256)
        payload.writeAMF0(.string(name))
        payload.writeAMF0(.number(transactionID))
        payload.writeAMF0(commandObject)
        for argument in arguments { payload.writeAMF0(argument) }
        return RTMPMessage(
            chunkStreamID: chunkStreamID, timestamp: 0, typeID: MessageType.commandAMF0.rawValue,
            messageStreamID: messageStreamID, payload: payload)
    }
}

extension Command {
    /// An `onStatus` event with the usual info object.
    public static func onStatus(level: String, code: String, description: String, details: String? = nil) -> Command {
        var info: [(key: String, value: AMF0Value)] = [
            ("level", .string(level)), ("code", .string(code)), ("description", .string(description)),
        ]
        if let details { info.append(("details", .string(details))) }
        return Command(name: "onStatus", transactionID: 0, commandObject: .null, arguments: [.object(info)])
    }
}

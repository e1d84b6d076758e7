import FLV
import NIOCore

/// Splits outgoing messages into chunks of the current outgoing chunk size.
///
/// Every message starts with a type-0 header: the server sends few messages, so header compression is not
/// worth its state. A Set Chunk Size message takes effect for the messages after it, as the peer reads it.
public struct ChunkEncoder: Sendable {
    public private(set) var chunkSize = 128

    public init() {}

    /// An encoder for a peer that already reads chunks of `chunkSize` bytes.
    public init(chunkSize: Int) { self.chunkSize = chunkSize }

    /// `message` chunked at `chunkSize`, in a buffer of its own: the bytes many players share.
    public static func chunked(_ message: RTMPMessage, chunkSize: Int) -> ByteBuffer {
        var encoder = ChunkEncoder(chunkSize: chunkSize)
        var out = ByteBuffer()
        out.reserveCapacity(message.payload.readableBytes + 12 + (message.payload.readableBytes / chunkSize + 1) * 5)
        encoder.encode(message, into: &out)
        return out
    }

    public mutating func encode(_ message: RTMPMessage, into out: inout ByteBuffer) {
        var payload = message.payload
        let length = payload.readableBytes
        let extended = message.timestamp >= 0xFF_FFFF

        writeBasicHeader(format: 0, chunkStreamID: message.chunkStreamID, into: &out)
        out.writeUInt24(extended ? 0xFF_FFFF : message.timestamp)
        out.writeUInt24(UInt32(length))
        out.writeInteger(message.typeID)
        out.writeInteger(message.messageStreamID, endianness: .little)
        if extended { out.writeInteger(message.timestamp) }

        var first = true
        while first || payload.readableBytes > 0 {
            if !first {
                writeBasicHeader(format: 3, chunkStreamID: message.chunkStreamID, into: &out)
                if extended { out.writeInteger(message.timestamp) }
            }
            var piece = payload.readSlice(length: min(chunkSize, payload.readableBytes))!
            out.writeBuffer(&piece)
            first = false
        }

        if message.type == .setChunkSize,
            let size = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self)
        {
            chunkSize = Int(size & 0x7FFF_FFFF)
        }
    }

    private func writeBasicHeader(format: UInt8, chunkStreamID csid: UInt32, into out: inout ByteBuffer) {
        switch csid {
        case 2..<64:
            out.writeInteger(format << 6 | UInt8(csid))
        case 64..<320:
            out.writeInteger(format << 6)
            out.writeInteger(UInt8(csid - 64))
        default:
            out.writeInteger(format << 6 | 1)
            out.writeInteger(UInt16(csid - 64), endianness: .little)
        }
    }
}

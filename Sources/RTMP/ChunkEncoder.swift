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

    /// `message` chunked at `chunkSize`, in a buffer of its own: the bytes many players share. With `prefix`, the
    /// message's body is `prefix` then the payload (an FLV tag header before a frame), chunked without joining them
    /// first: one copy of the frame instead of two.
    public static func chunked(_ message: RTMPMessage, prefix: ByteBuffer? = nil, chunkSize: Int) -> ByteBuffer {
        var encoder = ChunkEncoder(chunkSize: chunkSize)
        let length = message.payload.readableBytes + (prefix?.readableBytes ?? 0)
        var out = ByteBuffer()
        out.reserveCapacity(length + 12 + (length / chunkSize + 1) * 5)
        encoder.encode(message, prefix: prefix, into: &out)
        return out
    }

    /// Appends `message` as chunks to `out`. With `prefix`, the message's body is `prefix` then its payload.
    public mutating func encode(_ message: RTMPMessage, prefix: ByteBuffer? = nil, into out: inout ByteBuffer) {
        var head = prefix ?? ByteBuffer()
        var payload = message.payload
        var remaining = head.readableBytes + payload.readableBytes
        let extended = message.timestamp >= 0xFF_FFFF

        writeBasicHeader(format: 0, chunkStreamID: message.chunkStreamID, into: &out)
        out.writeUInt24(extended ? 0xFF_FFFF : message.timestamp)
        out.writeUInt24(UInt32(remaining))
        out.writeInteger(message.typeID)
        out.writeInteger(message.messageStreamID, endianness: .little)
        if extended { out.writeInteger(message.timestamp) }

        var first = true
        while first || remaining > 0 {
            if !first {
                writeBasicHeader(format: 3, chunkStreamID: message.chunkStreamID, into: &out)
                if extended { out.writeInteger(message.timestamp) }
            }
            var room = min(chunkSize, remaining)
            remaining -= room
            while room > 0 {
                let count = min(room, head.readableBytes > 0 ? head.readableBytes : payload.readableBytes)
                var piece = head.readableBytes > 0 ? head.readSlice(length: count)! : payload.readSlice(length: count)!
                out.writeBuffer(&piece)
                room -= count
            }
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

import FLV
import NIOCore

/// Hand-built chunk bytes, so tests can use header types the server's own encoder never writes.
struct ChunkBytes {
    var buffer = ByteBuffer()

    mutating func basicHeader(format: UInt8, csid: UInt32) {
        switch csid {
        case 2..<64: buffer.writeInteger(format << 6 | UInt8(csid))
        case 64..<320:
            buffer.writeInteger(format << 6)
            buffer.writeInteger(UInt8(csid - 64))
        default:
            buffer.writeInteger(format << 6 | 1)
            buffer.writeInteger(UInt16(csid - 64), endianness: .little)
        }
    }

    mutating func uint24(_ value: UInt32) {
        buffer.writeBytes([UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func type0(csid: UInt32, timestamp: UInt32, length: Int, type: UInt8, stream: UInt32, body: [UInt8]) {
        basicHeader(format: 0, csid: csid)
        let extended = timestamp >= 0xFF_FFFF
        uint24(extended ? 0xFF_FFFF : timestamp)
        uint24(UInt32(length))
        buffer.writeInteger(type)
        buffer.writeInteger(stream, endianness: .little)
        if extended { buffer.writeInteger(timestamp) }
        buffer.writeBytes(body)
    }

    mutating func type1(csid: UInt32, delta: UInt32, length: Int, type: UInt8, body: [UInt8]) {
        basicHeader(format: 1, csid: csid)
        let extended = delta >= 0xFF_FFFF
        uint24(extended ? 0xFF_FFFF : delta)
        uint24(UInt32(length))
        buffer.writeInteger(type)
        if extended { buffer.writeInteger(delta) }
        buffer.writeBytes(body)
    }

    mutating func type2(csid: UInt32, delta: UInt32, body: [UInt8]) {
        basicHeader(format: 2, csid: csid)
        uint24(delta)
        buffer.writeBytes(body)
    }

    mutating func type3(csid: UInt32, extendedTimestamp: UInt32? = nil, body: [UInt8]) {
        basicHeader(format: 3, csid: csid)
        if let extendedTimestamp { buffer.writeInteger(extendedTimestamp) }
        buffer.writeBytes(body)
    }
}

func message(csid: UInt32, timestamp: UInt32, type: UInt8, stream: UInt32 = 1, body: [UInt8]) -> RTMPMessageValue {
    RTMPMessageValue(csid: csid, timestamp: timestamp, type: type, stream: stream, body: body)
}

/// A message as plain values, for readable expectations.
struct RTMPMessageValue: Equatable, CustomStringConvertible {
    var csid: UInt32
    var timestamp: UInt32
    var type: UInt8
    var stream: UInt32
    var body: [UInt8]

    var description: String { "csid \(csid) ts \(timestamp) type \(type) stream \(stream) \(body.count) bytes" }
}

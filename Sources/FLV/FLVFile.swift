import NIOCore

/// The FLV file framing around tag bodies (FLV 10.1, annex E.2–E.3): a 9-byte header, then tags, each followed
/// by the size of the tag before it. HTTP-FLV is this file, streamed.
public enum FLVFile {
    public enum TagType: UInt8, Sendable {
        case audio = 8
        case video = 9
        case scriptData = 18
    }

    /// The file header (`FLV`, version 1, audio/video flags, header size 9) and PreviousTagSize0 (0): 13 bytes.
    public static func header(hasAudio: Bool, hasVideo: Bool) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeBytes([0x46, 0x4C, 0x56, 0x01])
        out.writeInteger(UInt8((hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0)))
        out.writeInteger(UInt32(9))
        out.writeInteger(UInt32(0))
        return out
    }

    /// One tag: 11-byte header (type, data size, timestamp in ms with its extension byte, stream id 0), the
    /// body, and PreviousTagSize (11 + body size). `timestamp` is the low 32 bits of the media time.
    public static func tag(type: TagType, timestamp: UInt32, body: ByteBuffer) -> ByteBuffer {
        var body = body
        let size = body.readableBytes
        var out = ByteBuffer()
        out.reserveCapacity(11 + size + 4)
        out.writeInteger(type.rawValue)
        out.writeUInt24(UInt32(size))
        out.writeUInt24(timestamp & 0xFF_FFFF)
        out.writeInteger(UInt8(truncatingIfNeeded: timestamp >> 24))
        out.writeUInt24(0)
        out.writeBuffer(&body)
        out.writeInteger(UInt32(11 + size))
        return out
    }
}

import Media
import NIOCore

/// Writes the tag header that starts an FLV audio or video tag body (and an RTMP audio or video message): the
/// inverse of `FLVTag.video` / `FLVTag.audio`.
///
/// H.264 and AAC get the classic headers (FLV 10.1, E.4.2.1 and E.4.3.1: frame type and codec id, packet type,
/// 24-bit composition time in ms). HEVC gets Enhanced RTMP's (v1, "ExVideoTagHeader": `IsExHeader` bit, frame type,
/// packet type, FourCC `hvc1`, and the composition time for `CodedFrames`), which ffmpeg 6+, OBS 29+ and SRS read.
public enum FLVTagEncoder {
    /// The bytes that go in front of `packet.payload`; nil for codecs FLV output does not carry here.
    public static func header(for packet: MediaPacket) -> ByteBuffer? {
        var out = ByteBuffer()
        switch (packet.track, packet.codec) {
        case (.video, .h264):
            let frameType: UInt8 = packet.isKeyframe || packet.kind == .sequenceHeader ? 1 : 2
            out.writeInteger(frameType << 4 | 7)
            out.writeInteger(packetType(packet.kind))
            out.writeInt24(packet.kind == .frame ? Int32(clamping: packet.compositionOffset) : 0)
        case (.video, .hevc):
            let frameType: UInt8 = packet.isKeyframe || packet.kind == .sequenceHeader ? 1 : 2
            let offset = Int32(clamping: packet.compositionOffset)
            // CodedFramesX (3) says "composition time is zero" and saves three bytes.
            let type: UInt8 = packet.kind == .frame && offset == 0 ? 3 : packetType(packet.kind)
            out.writeInteger(0x80 | frameType << 4 | type)
            out.writeInteger(fourCCValue("hvc1"))
            if type == 1 { out.writeInt24(offset) }
        case (.audio, .aac):
            // AAC is always declared 44 kHz, 16-bit, stereo here; the AudioSpecificConfig says what it really is.
            out.writeInteger(UInt8(0xAF))
            out.writeInteger(UInt8(packet.kind == .sequenceHeader ? 0 : 1))
        case (.audio, .mp3):
            out.writeInteger(UInt8(0x2F))
        default:
            return nil
        }
        return out
    }

    /// The whole tag body, header then payload, in one buffer (one copy of the payload).
    public static func body(for packet: MediaPacket) -> ByteBuffer? {
        guard var out = header(for: packet) else { return nil }
        var payload = packet.payload
        out.reserveCapacity(minimumWritableBytes: payload.readableBytes)
        out.writeBuffer(&payload)
        return out
    }

    private static func packetType(_ kind: MediaPacket.Kind) -> UInt8 {
        switch kind {
        case .sequenceHeader: 0
        case .frame: 1
        case .endOfSequence: 2
        }
    }
}

extension ByteBuffer {
    /// Writes a signed 24-bit big-endian integer (FLV composition times).
    public mutating func writeInt24(_ value: Int32) {
        writeUInt24(UInt32(bitPattern: value) & 0xFF_FFFF)
    }
}

import Media
import NIOCore

/// The FLV tag header at the start of an RTMP audio or video message, classic or Enhanced RTMP.
public struct FLVTag: Sendable, Equatable {
    public var codec: Codec
    public var kind: MediaPacket.Kind
    public var isKeyframe: Bool
    /// Composition time offset in ms (PTS − DTS); zero where the format carries none.
    public var compositionOffset: Int32
    /// The codec payload after the FLV header: a decoder configuration record or length-prefixed frames.
    public var body: ByteBuffer
    /// True for Enhanced RTMP packets the remuxer does not carry yet (metadata, multitrack, …).
    public var isUnsupported: Bool = false
}

extension FLVTag {
    /// Reads a video tag. Returns nil for an empty payload (some encoders send those as keepalives).
    public static func video(_ payload: ByteBuffer) throws(FLVError) -> FLVTag? {
        var buffer = payload
        guard let first = buffer.readInteger(as: UInt8.self) else { return nil }
        let malformed = { (reason: String) -> FLVError in .malformedTag(type: 9, reason: reason) }

        if first & 0x80 != 0 {
            // Enhanced RTMP: 3 bits frame type, 4 bits packet type, then a FourCC.
            let frameType = (first >> 4) & 0x07
            let packetType = first & 0x0F
            guard let fourCC = buffer.readInteger(as: UInt32.self) else { throw malformed("short enhanced header") }
            let codec: Codec
            switch fourCC {
            case fourCCValue("hvc1"): codec = .hevc
            case fourCCValue("av01"): codec = .av1
            case fourCCValue("vp09"): codec = .vp9
            case fourCCValue("avc1"): codec = .h264
            default: codec = .other
            }
            var cts: Int32 = 0
            let kind: MediaPacket.Kind
            var unsupported = false
            switch packetType {
            case 0: kind = .sequenceHeader
            case 1:
                kind = .frame
                // CodedFrames carries a composition offset for AVC and HEVC only.
                if codec == .hevc || codec == .h264 {
                    guard buffer.readableBytes >= 3 else { throw malformed("short composition offset") }
                    cts = buffer.readInt24()
                }
            case 2: kind = .endOfSequence
            case 3: kind = .frame  // CodedFramesX: offset is zero
            default:
                kind = .frame
                unsupported = true
            }
            return FLVTag(
                codec: codec, kind: kind, isKeyframe: frameType == 1, compositionOffset: cts, body: buffer,
                isUnsupported: unsupported || codec == .other)
        }

        let frameType = first >> 4
        let codecID = first & 0x0F
        switch codecID {
        case 7, 12:
            // AVC (7) and the pre-standard HEVC id some Chinese encoders use (12).
            guard buffer.readableBytes >= 4 else { throw malformed("short AVC header") }
            let packetType = buffer.readInteger(as: UInt8.self)!
            let cts = buffer.readInt24()
            let kind = MediaPacket.Kind(flvPacketType: packetType)
            return FLVTag(
                codec: codecID == 7 ? .h264 : .hevc, kind: kind, isKeyframe: frameType == 1,
                compositionOffset: kind == .frame ? cts : 0, body: buffer)
        default:
            return FLVTag(
                codec: .other, kind: .frame, isKeyframe: frameType == 1, compositionOffset: 0, body: buffer,
                isUnsupported: true)
        }
    }

    /// Reads an audio tag. Returns nil for an empty payload.
    public static func audio(_ payload: ByteBuffer) throws(FLVError) -> FLVTag? {
        var buffer = payload
        guard let first = buffer.readInteger(as: UInt8.self) else { return nil }
        let soundFormat = first >> 4
        switch soundFormat {
        case 10:
            guard let packetType = buffer.readInteger(as: UInt8.self) else {
                throw .malformedTag(type: 8, reason: "short AAC header")
            }
            return FLVTag(
                codec: .aac, kind: packetType == 0 ? .sequenceHeader : .frame, isKeyframe: true,
                compositionOffset: 0, body: buffer)
        case 2, 14:
            return FLVTag(codec: .mp3, kind: .frame, isKeyframe: true, compositionOffset: 0, body: buffer)
        case 9:
            // Enhanced RTMP v2 audio: packet type in the low bits, then a FourCC.
            let packetType = first & 0x0F
            guard let fourCC = buffer.readInteger(as: UInt32.self) else {
                throw .malformedTag(type: 8, reason: "short enhanced audio header")
            }
            let codec: Codec
            switch fourCC {
            case fourCCValue("Opus"): codec = .opus
            case fourCCValue("fLaC"): codec = .flac
            case fourCCValue("ac-3"): codec = .ac3
            case fourCCValue("ec-3"): codec = .eac3
            case fourCCValue("mp4a"): codec = .aac
            case fourCCValue(".mp3"): codec = .mp3
            default: codec = .other
            }
            let kind = MediaPacket.Kind(flvPacketType: packetType)
            return FLVTag(
                codec: codec, kind: kind, isKeyframe: true, compositionOffset: 0, body: buffer,
                isUnsupported: packetType > 2 || codec == .other)
        default:
            return FLVTag(codec: .other, kind: .frame, isKeyframe: true, compositionOffset: 0, body: buffer, isUnsupported: true)
        }
    }
}

extension MediaPacket.Kind {
    /// AVC/AAC packet type and Enhanced RTMP packet type share these values: 0 starts a sequence, 2 ends it.
    init(flvPacketType: UInt8) {
        switch flvPacketType {
        case 0: self = .sequenceHeader
        case 2: self = .endOfSequence
        default: self = .frame
        }
    }
}

public func fourCCValue(_ text: StaticString) -> UInt32 {
    text.withUTF8Buffer { bytes in bytes.reduce(0) { $0 << 8 | UInt32($1) } }
}

extension ByteBuffer {
    /// Unsigned 24-bit big-endian integer; the caller has checked that three bytes are there.
    public mutating func readUInt24() -> UInt32 {
        let b0 = readInteger(as: UInt8.self)!
        let b1 = readInteger(as: UInt8.self)!
        let b2 = readInteger(as: UInt8.self)!
        return UInt32(b0) << 16 | UInt32(b1) << 8 | UInt32(b2)
    }

    /// Writes the low 24 bits of `value`, big-endian.
    public mutating func writeUInt24(_ value: UInt32) {
        writeInteger(UInt8((value >> 16) & 0xFF))
        writeInteger(UInt8((value >> 8) & 0xFF))
        writeInteger(UInt8(value & 0xFF))
    }

    /// Signed 24-bit big-endian integer.
    mutating func readInt24() -> Int32 {
        let raw = readUInt24()
        return raw & 0x80_0000 != 0 ? Int32(bitPattern: raw | 0xFF00_0000) : Int32(raw)
    }
}

import NIOCore

/// The leading fields of an HEVC decoder configuration record (ISO 14496-15, `hvcC`).
public struct HEVCDecoderConfigurationRecord: Sendable, Equatable {
    public var profileSpace: Int
    public var tierFlag: Bool
    public var profileIDC: Int
    public var levelIDC: Int

    public enum ParseError: Error, Equatable { case truncated }

    public init(_ buffer: ByteBuffer) throws(ParseError) {
        guard buffer.readableBytes >= 13, let bytes = buffer.getBytes(at: buffer.readerIndex, length: 13) else {
            throw .truncated
        }
        profileSpace = Int(bytes[1] >> 6)
        tierFlag = bytes[1] & 0x20 != 0
        profileIDC = Int(bytes[1] & 0x1F)
        levelIDC = Int(bytes[12])
    }

    public var videoConfig: VideoConfig {
        let name =
            switch profileIDC {
            case 1: "Main"
            case 2: "Main 10"
            case 3: "Main Still Picture"
            default: "Profile \(profileIDC)"
            }
        // HEVC's level_idc is 30 × the level number.
        return VideoConfig(codec: .hevc, profile: name, profileIndication: profileIDC, levelIndication: levelIDC / 3)
    }
}

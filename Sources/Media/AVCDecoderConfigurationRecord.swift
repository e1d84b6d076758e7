import NIOCore

/// The H.264 decoder configuration record (ISO 14496-15) carried in an AVC sequence header.
public struct AVCDecoderConfigurationRecord: Sendable, Equatable {
    public var profileIndication: UInt8
    public var profileCompatibility: UInt8
    public var levelIndication: UInt8
    public var nalLengthSize: Int
    public var sequenceParameterSets: [[UInt8]]
    public var pictureParameterSets: [[UInt8]]

    public enum ParseError: Error, Equatable { case truncated, badVersion(UInt8) }

    public init(_ buffer: ByteBuffer) throws(ParseError) {
        var b = buffer
        guard let version = b.readInteger(as: UInt8.self) else { throw .truncated }
        guard version == 1 else { throw .badVersion(version) }
        guard let profile = b.readInteger(as: UInt8.self), let compat = b.readInteger(as: UInt8.self),
            let level = b.readInteger(as: UInt8.self), let lengthByte = b.readInteger(as: UInt8.self),
            let spsCount = b.readInteger(as: UInt8.self)
        else { throw .truncated }
        profileIndication = profile
        profileCompatibility = compat
        levelIndication = level
        nalLengthSize = Int(lengthByte & 0x03) + 1
        sequenceParameterSets = []
        for _ in 0..<(spsCount & 0x1F) {
            guard let length = b.readInteger(as: UInt16.self), let sps = b.readBytes(length: Int(length)) else {
                throw .truncated
            }
            sequenceParameterSets.append(sps)
        }
        pictureParameterSets = []
        guard let ppsCount = b.readInteger(as: UInt8.self) else { throw .truncated }
        for _ in 0..<ppsCount {
            guard let length = b.readInteger(as: UInt16.self), let pps = b.readBytes(length: Int(length)) else {
                throw .truncated
            }
            pictureParameterSets.append(pps)
        }
    }

    /// RFC 6381 codec string, e.g. `avc1.64001f`.
    public var codecString: String {
        "avc1." + [profileIndication, profileCompatibility, levelIndication].map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// The video description this record gives, with resolution from the first SPS when it parses.
    public var videoConfig: VideoConfig {
        var config = VideoConfig(
            codec: .h264, profile: H264SequenceParameterSet.profileName(Int(profileIndication)),
            profileIndication: Int(profileIndication), levelIndication: Int(levelIndication))
        if let first = sequenceParameterSets.first, let sps = try? H264SequenceParameterSet(nal: first) {
            config.width = sps.width
            config.height = sps.height
        }
        return config
    }
}

/// The fields of an H.264 sequence parameter set needed to describe a stream.
public struct H264SequenceParameterSet: Sendable, Equatable {
    public var profileIDC: Int
    public var levelIDC: Int
    public var width: Int
    public var height: Int

    /// Parses a whole SPS NAL unit, header byte included.
    public init(nal: [UInt8]) throws {
        var r = BitReader(BitReader.rbsp(nal.dropFirst()))
        profileIDC = Int(try r.bits(8))
        _ = try r.bits(8)  // constraint flags
        levelIDC = Int(try r.bits(8))
        _ = try r.ue()  // seq_parameter_set_id
        var chromaFormat: UInt32 = 1
        var separateColourPlane = false
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profileIDC) {
            chromaFormat = try r.ue()
            if chromaFormat == 3 { separateColourPlane = try r.flag() }
            _ = try r.ue()  // bit_depth_luma_minus8
            _ = try r.ue()  // bit_depth_chroma_minus8
            _ = try r.flag()  // qpprime_y_zero_transform_bypass
            if try r.flag() {
                for index in 0..<(chromaFormat == 3 ? 12 : 8) where try r.flag() {
                    try Self.skipScalingList(&r, size: index < 6 ? 16 : 64)
                }
            }
        }
        _ = try r.ue()  // log2_max_frame_num_minus4
        let pocType = try r.ue()
        if pocType == 0 {
            _ = try r.ue()
        } else if pocType == 1 {
            _ = try r.flag()
            _ = try r.se()
            _ = try r.se()
            let cycle = try r.ue()
            for _ in 0..<cycle { _ = try r.se() }
        }
        _ = try r.ue()  // max_num_ref_frames
        _ = try r.flag()  // gaps_in_frame_num_allowed
        let widthInMBs = Int(try r.ue()) + 1
        let heightInMapUnits = Int(try r.ue()) + 1
        let frameMBsOnly = try r.flag()
        if !frameMBsOnly { _ = try r.flag() }
        _ = try r.flag()  // direct_8x8_inference
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if try r.flag() {
            crop = (Int(try r.ue()), Int(try r.ue()), Int(try r.ue()), Int(try r.ue()))
        }
        let chroma = ChromaSubsampling(chromaFormatIDC: Int(chromaFormat), separateColourPlane: separateColourPlane)
        let cropX = chroma.width
        let cropY = chroma.height * (frameMBsOnly ? 1 : 2)
        width = widthInMBs * 16 - cropX * (crop.left + crop.right)
        height = heightInMapUnits * 16 * (frameMBsOnly ? 1 : 2) - cropY * (crop.top + crop.bottom)
    }

    /// H.264 §7.3.2.1.1.1. `delta_scale` is −128…127 (§7.4.2.1.1.1): anything else is a broken SPS, refused
    /// before it is added (found by fuzzing: a huge value overflowed the sum and trapped).
    private static func skipScalingList(_ r: inout BitReader, size: Int) throws {
        var last = 8
        var next = 8
        for _ in 0..<size where next != 0 {
            let delta = Int(try r.se())
            guard (-128...127).contains(delta) else { throw BitReader.Failure.valueTooLarge }
            next = (last + delta + 256) % 256
            last = next == 0 ? last : next
        }
    }

    public static func profileName(_ idc: Int) -> String {
        switch idc {
        case 66: "Baseline"
        case 77: "Main"
        case 88: "Extended"
        case 100: "High"
        case 110: "High 10"
        case 122: "High 4:2:2"
        case 244: "High 4:4:4 Predictive"
        default: "Profile \(idc)"
        }
    }
}

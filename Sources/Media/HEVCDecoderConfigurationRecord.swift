import NIOCore

/// The HEVC decoder configuration record (ISO/IEC 14496-15 §8.3.3.1, `hvcC`) carried in an HEVC sequence
/// header: the general profile, tier and level fields, and the parameter set arrays.
public struct HEVCDecoderConfigurationRecord: Sendable, Equatable {
    public var profileSpace: Int
    public var tierFlag: Bool
    public var profileIDC: Int
    /// general_profile_compatibility_flags, bit 31 is flag 0.
    public var profileCompatibilityFlags: UInt32
    /// general_constraint_indicator_flags, the 6 bytes as sent.
    public var constraintIndicatorFlags: [UInt8]
    /// 30 × the level number (level 3.1 is 93).
    public var levelIDC: Int
    public var nalLengthSize: Int
    /// NAL units by type (32 VPS, 33 SPS, 34 PPS, 39/40 SEI), whole units with their 2-byte headers.
    public var arrays: [(type: Int, units: [[UInt8]])]

    public enum ParseError: Error, Equatable { case truncated, badVersion(UInt8) }

    public init(_ buffer: ByteBuffer) throws(ParseError) {
        var b = buffer
        guard let version = b.readInteger(as: UInt8.self) else { throw .truncated }
        // Some early muxers wrote 0; the layout is the same.
        guard version <= 1 else { throw .badVersion(version) }
        guard let general = b.readInteger(as: UInt8.self), let compatibility = b.readInteger(as: UInt32.self),
            let constraints = b.readBytes(length: 6), let level = b.readInteger(as: UInt8.self),
            b.readBytes(length: 8) != nil,  // segmentation, parallelism, chroma, bit depths, frame rate
            let lengthByte = b.readInteger(as: UInt8.self), let arrayCount = b.readInteger(as: UInt8.self)
        else { throw .truncated }
        profileSpace = Int(general >> 6)
        tierFlag = general & 0x20 != 0
        profileIDC = Int(general & 0x1F)
        profileCompatibilityFlags = compatibility
        constraintIndicatorFlags = constraints
        levelIDC = Int(level)
        nalLengthSize = Int(lengthByte & 0x03) + 1
        arrays = []
        for _ in 0..<arrayCount {
            guard let type = b.readInteger(as: UInt8.self), let count = b.readInteger(as: UInt16.self) else { throw .truncated }
            var units: [[UInt8]] = []
            for _ in 0..<count {
                guard let length = b.readInteger(as: UInt16.self), let unit = b.readBytes(length: Int(length)) else {
                    throw .truncated
                }
                units.append(unit)
            }
            arrays.append((Int(type & 0x3F), units))
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.profileSpace == rhs.profileSpace && lhs.tierFlag == rhs.tierFlag && lhs.profileIDC == rhs.profileIDC
            && lhs.profileCompatibilityFlags == rhs.profileCompatibilityFlags
            && lhs.constraintIndicatorFlags == rhs.constraintIndicatorFlags && lhs.levelIDC == rhs.levelIDC
            && lhs.nalLengthSize == rhs.nalLengthSize
            && lhs.arrays.map(\.type) == rhs.arrays.map(\.type) && lhs.arrays.map(\.units) == rhs.arrays.map(\.units)
    }

    public func parameterSets(ofType type: Int) -> [[UInt8]] {
        arrays.filter { $0.type == type }.flatMap(\.units)
    }

    /// RFC 6381 codec string as ISO/IEC 14496-15 Annex E.3 defines it for `hvc1`:
    /// `hvc1.[A-C]<profile>.<compatibility flags, bit-reversed, hex>.<L|H><level>[.<constraint byte>…]`,
    /// trailing zero constraint bytes left out; e.g. `hvc1.1.6.L93.B0`.
    public var codecString: String {
        let space = ["", "A", "B", "C"][profileSpace & 3]
        var reversed: UInt32 = 0
        for bit in 0..<32 where profileCompatibilityFlags & (1 << bit) != 0 { reversed |= 1 << (31 - bit) }
        var parts = ["hvc1", "\(space)\(profileIDC)", String(reversed, radix: 16, uppercase: true), "\(tierFlag ? "H" : "L")\(levelIDC)"]
        var constraints = constraintIndicatorFlags
        while constraints.last == 0 { constraints.removeLast() }
        parts += constraints.map { String($0, radix: 16, uppercase: true) }
        return parts.joined(separator: ".")
    }

    /// The video description this record gives, with the resolution from the first SPS when it parses.
    public var videoConfig: VideoConfig {
        let name =
            switch profileIDC {
            case 1: "Main"
            case 2: "Main 10"
            case 3: "Main Still Picture"
            case 4: "Range Extensions"
            default: "Profile \(profileIDC)"
            }
        // HEVC's level_idc is 30 × the level number.
        var config = VideoConfig(codec: .hevc, profile: name, profileIndication: profileIDC, levelIndication: levelIDC / 3)
        if let first = parameterSets(ofType: 33).first, let sps = try? HEVCSequenceParameterSet(nal: first) {
            config.width = sps.width
            config.height = sps.height
        }
        return config
    }
}

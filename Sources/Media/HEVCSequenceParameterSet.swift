/// The fields of an HEVC sequence parameter set (ITU-T H.265 §7.3.2.2) needed to describe a stream: the
/// picture size after the conformance window.
public struct HEVCSequenceParameterSet: Sendable, Equatable {
    public var chromaFormatIDC: Int
    public var width: Int
    public var height: Int

    /// Parses a whole SPS NAL unit, its 2-byte header included.
    /// - Throws: `BitReader.Failure` when the unit ends early.
    public init(nal: [UInt8]) throws {
        var r = BitReader(BitReader.rbsp(nal.dropFirst(2)))
        _ = try r.bits(4)  // sps_video_parameter_set_id
        let maxSubLayersMinus1 = Int(try r.bits(3))
        _ = try r.flag()  // sps_temporal_id_nesting_flag
        // profile_tier_level(1, maxSubLayersMinus1), §7.3.3: the general part is 88 bits of profile and 8 of level.
        _ = try r.bits(32)
        _ = try r.bits(32)
        _ = try r.bits(24)
        _ = try r.bits(8)
        var subLayers: [(profile: Bool, level: Bool)] = []
        for _ in 0..<maxSubLayersMinus1 { subLayers.append((try r.flag(), try r.flag())) }
        if maxSubLayersMinus1 > 0 {
            for _ in maxSubLayersMinus1..<8 { _ = try r.bits(2) }  // reserved_zero_2bits
        }
        for layer in subLayers {
            if layer.profile {
                _ = try r.bits(32)
                _ = try r.bits(32)
                _ = try r.bits(24)
            }
            if layer.level { _ = try r.bits(8) }
        }
        _ = try r.ue()  // sps_seq_parameter_set_id
        chromaFormatIDC = Int(try r.ue())
        var separateColourPlane = false
        if chromaFormatIDC == 3 { separateColourPlane = try r.flag() }
        let lumaWidth = Int(try r.ue())
        let lumaHeight = Int(try r.ue())
        var window = (left: 0, right: 0, top: 0, bottom: 0)
        if try r.flag() {
            window = (Int(try r.ue()), Int(try r.ue()), Int(try r.ue()), Int(try r.ue()))
        }
        let chroma = ChromaSubsampling(chromaFormatIDC: chromaFormatIDC, separateColourPlane: separateColourPlane)
        width = lumaWidth - chroma.width * (window.left + window.right)
        height = lumaHeight - chroma.height * (window.top + window.bottom)
    }
}

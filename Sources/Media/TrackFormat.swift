/// What a sequence header says about its track, parsed once when it arrives (by the ingest) and carried with the
/// header to the API and every output.
public struct TrackFormat: Sendable, Equatable {
    public var video: VideoConfig?
    public var audio: AudioConfig?
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `hvc1`, `mp4a.40.2`; nil where none is defined here.
    public var codecString: String?
    /// Bytes in each NAL unit's length prefix (H.264; 4 elsewhere for HEVC as sent by every encoder seen).
    public var nalLengthSize: Int?

    public init(video: VideoConfig? = nil, audio: AudioConfig? = nil, codecString: String? = nil, nalLengthSize: Int? = nil) {
        self.video = video
        self.audio = audio
        self.codecString = codecString
        self.nalLengthSize = nalLengthSize
    }

    /// A sequence header that parses but cannot configure a decoder.
    public enum Unusable: Error, Equatable, CustomStringConvertible {
        case missingParameterSets(String)

        public var description: String {
            switch self {
            case .missingParameterSets(let what): "decoder configuration without \(what)"
            }
        }
    }

    /// Parses a sequence header: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3), HEVC's (8.3.3), or
    /// AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1). Other codecs get their codec and nothing else.
    /// Throws the record parser's error when the bytes do not parse, and `Unusable` when they parse but lack
    /// what every decoder needs (an AVC record without SPS or PPS, an HEVC one without VPS, SPS or PPS).
    public init(header: MediaPacket) throws {
        switch header.codec {
        case .h264:
            let record = try AVCDecoderConfigurationRecord(header.payload)
            if record.sequenceParameterSets.isEmpty || record.pictureParameterSets.isEmpty {
                throw Unusable.missingParameterSets(record.sequenceParameterSets.isEmpty ? "an SPS" : "a PPS")
            }
            self.init(video: record.videoConfig, codecString: record.codecString, nalLengthSize: record.nalLengthSize)
        case .hevc:
            let record = try HEVCDecoderConfigurationRecord(header.payload)
            for (type, name) in [(32, "a VPS"), (33, "an SPS"), (34, "a PPS")] where record.parameterSets(ofType: type).isEmpty {
                throw Unusable.missingParameterSets(name)
            }
            self.init(video: record.videoConfig, codecString: record.codecString, nalLengthSize: record.nalLengthSize)
        case .aac:
            let config = try AudioSpecificConfig(header.payload)
            self.init(audio: config.audioConfig, codecString: config.codecString)
        default:
            if header.track == .video {
                self.init(video: VideoConfig(codec: header.codec))
            } else {
                self.init(audio: AudioConfig(codec: header.codec))
            }
        }
    }
}

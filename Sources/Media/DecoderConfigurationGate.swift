/// Lets through only media a decoder can use, per track: frames wait for a usable sequence header (one whose
/// `format` parsed), and video frames then for a keyframe. What it holds back is dropped, for every reader at
/// once, so no output ever packages a frame nothing can decode.
///
/// Encoders send coded frames before their headers (the configuration is known only after the first frame,
/// or the encoder resumes mid-GOP), and headers that parse but configure nothing (see `TrackFormat.Unusable`).
public struct DecoderConfigurationGate: Sendable {
    public enum Verdict: Equatable, Sendable {
        case pass
        /// Drop the packet, for this reason.
        case drop(String)
    }

    enum State: Sendable {
        case awaitingConfiguration
        case awaitingKeyframe
        case open
    }

    private var video = State.awaitingConfiguration
    private var audio = State.awaitingConfiguration

    public init() {}

    /// Decides one packet. A sequence header is usable when its `format` is set (the ingest parsed it).
    public mutating func admit(_ packet: MediaPacket) -> Verdict {
        guard packet.track != .data else { return .pass }
        var state = packet.track == .video ? video : audio
        defer {
            if packet.track == .video { video = state } else { audio = state }
        }
        switch packet.kind {
        case .endOfSequence:
            return .pass
        case .sequenceHeader:
            guard packet.format != nil else {
                state = .awaitingConfiguration
                return .drop("\(packet.track) sequence header that cannot configure a decoder")
            }
            if state == .awaitingConfiguration { state = packet.track == .video ? .awaitingKeyframe : .open }
            return .pass
        case .frame:
            if state == .awaitingConfiguration && !packet.codec.needsSequenceHeader {
                state = packet.track == .video ? .awaitingKeyframe : .open
            }
            switch state {
            case .open:
                return .pass
            case .awaitingKeyframe where packet.isKeyframe:
                state = .open
                return .pass
            case .awaitingKeyframe:
                return .drop("\(packet.track) frame before the first keyframe")
            case .awaitingConfiguration:
                return .drop("\(packet.track) frame before a usable sequence header")
            }
        }
    }
}

extension Codec {
    /// Whether frames of this codec are undecodable without a sequence header in FLV (AVC, HEVC, AV1, VP9
    /// records; AAC's AudioSpecificConfig). MP3 and the rest carry what they need in each frame.
    public var needsSequenceHeader: Bool {
        switch self {
        case .h264, .hevc, .av1, .vp9, .aac: true
        default: false
        }
    }
}

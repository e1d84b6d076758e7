import FFmpeg
import Media

/// The MPEG-TS streams a publish becomes, decided from its sequence headers and the facts the ingest parsed from
/// them (`MediaPacket.format`): video first, then audio, then the timed ID3 stream cues ride in. Pure.
struct MuxerLayout: Equatable {
    var streams: [Muxer.StreamSpec]
    /// RFC 6381 strings for the multivariant playlist's `CODECS`.
    var codecs: [String]
    var resolution: Resolution?
    /// One AAC frame (1024 samples) in 90 kHz ticks, to end a segment after its last audio frame.
    var audioFrameDuration: Int64?

    struct Resolution: Equatable {
        var width: Int
        var height: Int
    }

    enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadableHeader(Codec)
        case unsupported(Codec, Track)
        case noHeaders

        var description: String {
            switch self {
            case .unreadableHeader(let codec): "unreadable \(codec.rawValue) sequence header"
            case .unsupported(let codec, .video): "video codec \(codec.rawValue) cannot be carried in MPEG-TS here"
            case .unsupported(let codec, _): "audio codec \(codec.rawValue) is not supported for HLS"
            case .noHeaders: "no sequence header before the first frame"
            }
        }
    }

    init(video: MediaPacket?, audio: MediaPacket?) throws(Failure) {
        streams = []
        codecs = []
        if let video {
            guard let format = video.format, let config = format.video else { throw .unreadableHeader(video.codec) }
            let extradata = Array(video.payload.readableBytesView)
            let (width, height) = (config.width ?? 0, config.height ?? 0)
            switch video.codec {
            case .h264: streams.append(.h264(extradata: extradata, width: width, height: height))
            case .hevc: streams.append(.hevc(extradata: extradata, width: width, height: height))
            default: throw .unsupported(video.codec, .video)
            }
            if let codec = format.codecString { codecs.append(codec) }
            if let w = config.width, let h = config.height { resolution = Resolution(width: w, height: h) }
        }
        if let audio {
            guard audio.codec == .aac else { throw .unsupported(audio.codec, .audio) }
            guard let format = audio.format, let config = format.audio, let sampleRate = config.sampleRate else {
                throw .unreadableHeader(audio.codec)
            }
            streams.append(
                .aac(extradata: Array(audio.payload.readableBytesView), sampleRate: sampleRate, channels: config.channels ?? 2))
            if let codec = format.codecString { codecs.append(codec) }
            audioFrameDuration = Int64(1024 * 90000 / max(sampleRate, 1))
        }
        guard !streams.isEmpty else { throw .noHeaders }
        streams.append(.timedID3)
    }
}

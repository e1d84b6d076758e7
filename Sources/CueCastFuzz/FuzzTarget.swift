import Cues
import FLV
import Foundation
import HLS
import Media
import NIOCore
import PlaybackSigning
import RTMP

/// The parsers that read what clients send, each as a libFuzzer target: bytes in, and nothing may crash, hang or
/// leak whatever the bytes are. Errors thrown are the expected outcome for most inputs.
enum FuzzTarget: String, CaseIterable {
    /// Chunk stream → messages → the server session (commands, AMF0 inside them, media and data messages).
    case chunks
    /// C0+C1 and the digest search.
    case handshake
    case amf0
    case amf3
    /// FLV audio and video tag bodies, legacy and Enhanced RTMP (the first byte picks which).
    case flvTags = "flv-tags"
    /// AVC and HEVC decoder configuration records, H.264 and HEVC SPS, AAC AudioSpecificConfig (the first byte picks which).
    case codecRecords = "codec-records"
    /// A cue's JSON body through the validator.
    case cueJSON = "cue-json"
    /// An HLS request's query: delivery directives and a playback token.
    case hlsQuery = "hls-query"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .chunks:
            var decoder = ChunkDecoder(limits: ChunkLimits(maxMessageSize: 1 << 16, maxChunkStreams: 16))
            var session = ServerSession()
            // Fed in two reads, split where the first byte says, as TCP might.
            let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
            for part in [bytes[..<split], bytes[split...]] {
                var buffer = ByteBuffer(bytes: part)
                do {
                    while let message = try decoder.decode(buffer: &buffer) {
                        _ = try session.receive(message)
                    }
                } catch {
                    return
                }
            }
        case .handshake:
            _ = try? Handshake.reply(c0c1: ByteBuffer(bytes: bytes), random: { $0 = [UInt8](repeating: 0, count: $0.count) })
        case .amf0:
            var buffer = ByteBuffer(bytes: bytes)
            _ = try? AMF0Decoder().decodeAll(&buffer)
        case .amf3:
            var buffer = ByteBuffer(bytes: bytes)
            var decoder = AMF3Decoder()
            while buffer.readableBytes > 0, (try? decoder.decode(&buffer)) != nil {}
        case .flvTags:
            guard let selector = bytes.first else { return }
            let payload = ByteBuffer(bytes: bytes.dropFirst())
            _ = selector & 1 == 0 ? try? FLVTag.video(payload) : try? FLVTag.audio(payload)
        case .codecRecords:
            guard let selector = bytes.first else { return }
            let rest = Array(bytes.dropFirst())
            switch selector % 5 {
            case 0: _ = try? AVCDecoderConfigurationRecord(ByteBuffer(bytes: rest))
            case 1: _ = try? HEVCDecoderConfigurationRecord(ByteBuffer(bytes: rest))
            case 2: _ = try? HEVCSequenceParameterSet(nal: rest)
            case 3: _ = try? AudioSpecificConfig(ByteBuffer(bytes: rest))
            default: _ = try? H264SequenceParameterSet(nal: rest)
            }
        case .cueJSON:
            _ = try? CueValidator().validate(json: Data(bytes), now: Date(timeIntervalSince1970: 1_800_000_000))
        case .hlsQuery:
            let query = String(decoding: bytes, as: UTF8.self)
            let pairs = query.split(separator: "&").map { pair -> (name: String, value: String) in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
            _ = try? DeliveryDirectives(query: pairs)
            let token = PlaybackSigner.token(inQuery: Substring(query))
            _ = PlaybackSigner(secret: "fuzzing-secret-0123").refusal(token: token ?? query, app: "live", stream: "shop1")
            _ = PlaylistSigner.sign(query, token: "1.00")
        }
    }
}

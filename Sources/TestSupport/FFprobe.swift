import Foundation

/// What ffprobe says about a media file: per-stream packet timing, read by a tool that shares no code with us.
public struct ProbedPacket: Sendable, Equatable {
    public var mediaType: String
    public var ptsMilliseconds: Int64
    public var dtsMilliseconds: Int64
    public var isKeyframe: Bool
}

public enum FFprobe {
    /// Packets of every stream, with times in milliseconds.
    public static func packets(of path: String) async throws -> [ProbedPacket] {
        let output = try await Tool("ffprobe").run([
            "-v", "error", "-show_entries", "packet=codec_type,pts_time,dts_time,flags", "-of", "json", path,
        ])
        struct Root: Decodable {
            struct Packet: Decodable {
                var codec_type: String
                var pts_time: String?
                var dts_time: String?
                var flags: String?
            }
            var packets: [Packet]
        }
        let root = try JSONDecoder().decode(Root.self, from: output.stdout)
        func ms(_ text: String?) -> Int64 { Int64(((Double(text ?? "0") ?? 0) * 1000).rounded()) }
        return root.packets.map {
            ProbedPacket(
                mediaType: $0.codec_type, ptsMilliseconds: ms($0.pts_time), dtsMilliseconds: ms($0.dts_time),
                isKeyframe: $0.flags?.contains("K") ?? false)
        }
    }

    /// Codec names of the streams, in stream order.
    public static func codecNames(of path: String) async throws -> [String] {
        let output = try await Tool("ffprobe").run(["-v", "error", "-show_entries", "stream=codec_name", "-of", "json", path])
        struct Root: Decodable {
            struct Stream: Decodable { var codec_name: String? }
            var streams: [Stream]
        }
        return try JSONDecoder().decode(Root.self, from: output.stdout).streams.map { $0.codec_name ?? "unknown" }
    }
}

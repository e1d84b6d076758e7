import Foundation
import Testing
import TestSupport

/// A media playlist read line by line (the independent parser is Python's `m3u8`, run by `checkRFC8216`).
struct PlaylistEntry {
    var uri: String
    var duration: Double
    var discontinuity: Bool
}

func entries(of playlist: String) -> [PlaylistEntry] {
    var result: [PlaylistEntry] = []
    var duration: Double?
    var discontinuity = false
    for line in playlist.split(separator: "\n").map(String.init) {
        if line.hasPrefix("#EXTINF:") {
            duration = Double(line.dropFirst(8).split(separator: ",").first ?? "")
        } else if line == "#EXT-X-DISCONTINUITY" {
            discontinuity = true
        } else if !line.hasPrefix("#"), !line.isEmpty, let d = duration {
            result.append(PlaylistEntry(uri: line, duration: d, discontinuity: discontinuity))
            duration = nil
            discontinuity = false
        }
    }
    return result
}

func mediaSequence(of playlist: String) -> Int? {
    playlist.split(separator: "\n").first { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") }.flatMap { Int($0.dropFirst(22)) }
}

/// Runs scripts/testing/hls_rules.py (Python `m3u8`) over successive reloads of a playlist.
func checkRFC8216(_ versions: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    var paths: [String] = []
    for (index, text) in versions.enumerated() {
        let path = "\(dir.path)/\(String(format: "%04d", index)).m3u8"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        paths.append(path)
    }
    let script = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/hls_rules.py").path
    let output = try await Tool("python3").run([script] + paths, timeout: 60, requireSuccess: false)
    #expect(output.status == 0, "RFC 8216 violations:\n\(output.text)\(output.stderr)", sourceLocation: sourceLocation)
    #expect(output.text.hasPrefix("ok:"), sourceLocation: sourceLocation)
}

/// Downloads a segment and returns ffprobe's view of it.
func probeSegment(_ server: TestServer, stream: String, uri: String, into dir: TemporaryDirectory) async throws -> [ProbedPacket] {
    let response = try await server.fetch("/hls/\(stream)/\(uri)")
    #expect(response.status == 200)
    let path = "\(dir.path)/\(uri)"
    try Data(response.body).write(to: URL(fileURLWithPath: path))
    return try await FFprobe.packets(of: path)
}

/// ffprobe's time of a packet in 90 kHz ticks is what the playlist arithmetic is checked against; ms is enough.
extension [ProbedPacket] {
    var firstVideo: ProbedPacket? { first { $0.mediaType == "video" } }
    var videoCount: Int { filter { $0.mediaType == "video" }.count }
    var audioCount: Int { filter { $0.mediaType == "audio" }.count }
}

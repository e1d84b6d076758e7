import Foundation
import Media
import Testing
import TestSupport

@Suite struct ChromiumPlaybackTests {
    @Test func chromiumPlaysTheLivePlaylist() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/chrome")
            // About 24 s of live media: enough for Chromium to start at the live edge and play 5 s.
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/chrome?key=\(secret)", loops: 3)
            try await server.eventually("three segments") {
                entries(of: try await server.request(.GET, "/hls/live/chrome/index.m3u8").body).count >= 3
            }
            let artifacts = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let screenshot = artifacts.appendingPathComponent("hls-chromium-playback.png").path
            let script = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/chromium_play.py").path
            let output = try await Tool("python3").run(
                [script, "\(server.httpBase)/hls/live/chrome/index.m3u8", "5", "45", screenshot], timeout: 90, requireSuccess: false)
            #expect(output.status == 0, "playback: \(output.text) \(output.stderr)")
            #expect(output.text.contains(#""error": null"#))
            #expect(FileManager.default.fileExists(atPath: screenshot))
            publish.cancel()
            _ = try? await publish.value
        }
    }

    /// Chromium's native HLS plays the low-latency rendition (fMP4 behind `EXT-X-MAP`) as plain HLS.
    @Test func chromiumPlaysTheLowLatencyPlaylist() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/chromell")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/chromell?key=\(secret)", loops: 3)
            try await server.eventually("three segments") {
                entries(of: try await server.request(.GET, "/hls/live/chromell/ll.m3u8").body).count >= 3
            }
            let script = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/chromium_play.py").path
            let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("ll-chromium-\(UUID().uuidString).png").path
            defer { try? FileManager.default.removeItem(atPath: screenshot) }
            let output = try await Tool("python3").run(
                [script, "\(server.httpBase)/hls/live/chromell/ll.m3u8", "5", "45", screenshot], timeout: 90, requireSuccess: false)
            #expect(output.status == 0, "playback: \(output.text) \(output.stderr)")
            #expect(output.text.contains(#""error": null"#))
            publish.cancel()
            _ = try? await publish.value
        }
    }
}

import Foundation
import Testing
import TestSupport

/// Segments are open files: a server that runs out of them ends only the HLS output that needed one, says why,
/// and goes on serving.
@Suite struct OpenFilesTests {
    @Test func runningOutOfFilesEndsThatStreamsHLSWithAReason() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let secret = try await CLITests().cuecast(["keys", "add", "live/files", "--quiet", "--data-dir", dir.path]).text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let logPath = dir.path + "/server.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let server = try await CueDurabilityTests.Child.start(dataDir: dir.path, log: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        defer {
            server.process.terminate()
            server.process.waitUntilExit()
        }
        let pid = server.process.processIdentifier
        let publisher = try server.publish("live/files", key: secret, loops: -1)
        defer { if publisher.isRunning { publisher.terminate() } }
        let base = server.base
        var playlist = try await server.firstSegments(of: "live/files")
        #expect(playlist.contains("#EXTINF"))
        #expect(!playlist.contains("#EXT-X-ENDLIST"))

        // No descriptor to spare: the next segment cannot get its file. (HTTP connections cannot be accepted either
        // meanwhile, so nothing is asked until the limit is back.)
        try await Task.sleep(for: .milliseconds(300))
        // Only the soft limit moves: raising a hard one back needs a privilege tests may not have.
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let soft = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?.split(separator: " ").dropFirst(3).first)
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        _ = try await Tool("prlimit").run(["--pid", String(pid), "--nofile=\(open - 4):"])
        try await Task.sleep(for: .seconds(5))  // longer than two segments of the clip
        _ = try await Tool("prlimit").run(["--pid", String(pid), "--nofile=\(soft):"])

        playlist = try await server.curl(["\(base)/hls/live/files/index.m3u8"])
        #expect(playlist.contains("#EXT-X-ENDLIST"), "the stream's HLS output ended: \(playlist)")
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(log.contains("HLS output ended") && log.contains("memfd_create: Too many open files"), "\(log)")
        #expect(try await server.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/healthz"]) == "200", "the server goes on")
    }
}

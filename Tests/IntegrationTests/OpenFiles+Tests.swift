import Foundation
import NIOCore
import Testing
import TestSupport

/// Segments are open files: a server that runs out of them ends only the HLS output that needed one, says why,
/// and goes on serving.
@Suite struct OpenFilesTests {
    /// A server in a process of its own (its limits can then be lowered), a key for `stream`, and its log file.
    func start(keyFor stream: String, in dir: TemporaryDirectory) async throws -> (server: CueDurabilityTests.Child, secret: String, logPath: String) {
        let secret = try await CLITests().cuecast(["keys", "add", stream, "--quiet", "--data-dir", dir.path]).text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let logPath = dir.path + "/server.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let server = try await CueDurabilityTests.Child.start(dataDir: dir.path, log: try FileHandle(forWritingTo: URL(fileURLWithPath: logPath)))
        return (server, secret, logPath)
    }

    @Test func runningOutOfFilesEndsThatStreamsHLSWithAReason() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (server, secret, logPath) = try await start(keyFor: "live/files", in: dir)
        defer {
            server.process.terminate()
            server.process.waitForExit()
        }
        let pid = server.process.processIdentifier
        let publisher = try server.publish("live/files", key: secret, loops: -1)
        defer { if publisher.isAlive { publisher.terminate() } }
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

    /// Each segment write takes a descriptor of its own; without one, that request gets a 500 and a log line,
    /// and the same connection goes on to its next request.
    @Test func segmentWriteWithoutADescriptorIsA500() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (server, secret, logPath) = try await start(keyFor: "live/nofd", in: dir)
        defer {
            server.process.terminate()
            server.process.waitForExit()
        }
        let pid = server.process.processIdentifier
        // One pass of the clip, then the playlist ends and the server's descriptors stop changing.
        let publisher = try server.publish("live/nofd", key: secret, loops: 0)
        defer { if publisher.isAlive { publisher.terminate() } }
        var playlist = ""
        let deadline = Date().addingTimeInterval(30)
        while !playlist.contains("#EXT-X-ENDLIST"), Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            playlist = try await server.curl(["\(server.base)/hls/live/nofd/index.m3u8"])
        }
        let uri = try #require(entries(of: playlist).first?.uri, "\(playlist)")

        // A connection the server has accepted (its descriptor is open), then a limit that leaves none over.
        func openCount() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count }
        let before = try openCount()
        let client = try await RawRTMPClient.connect(port: server.http)
        let acceptDeadline = Date().addingTimeInterval(10)
        while try openCount() <= before, Date() < acceptDeadline { try await Task.sleep(for: .milliseconds(20)) }
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let soft = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?.split(separator: " ").dropFirst(3).first)
        // The limit bounds descriptor numbers, and a new one takes the lowest free number: set it there.
        let used = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int($0) })
        let lowestFree = (0...).first { !used.contains($0) }!
        _ = try await Tool("prlimit").run(["--pid", String(pid), "--nofile=\(lowestFree):"])
        let requests = "GET /hls/live/nofd/\(uri) HTTP/1.1\r\nHost: test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        var reply = try await client.sendAndAwaitClose(ByteBuffer(string: requests))
        _ = try await Tool("prlimit").run(["--pid", String(pid), "--nofile=\(soft):"])

        var statuses: [Int] = []
        while let head = reply.readHTTPHead() {
            statuses.append(head.status)
            #expect(reply.readSlice(length: head.contentLength ?? 0) != nil)
        }
        #expect(statuses == [500, 200])
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(log.contains("could not send segment: dup: Too many open files"), "\(log)")
        // With descriptors back, the same segment goes out whole.
        let size = try await server.curl(["-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(server.base)/hls/live/nofd/\(uri)"])
        #expect(size.hasPrefix("200 ") && (Int(size.dropFirst(4)) ?? 0) > 0, "\(size)")
    }
}

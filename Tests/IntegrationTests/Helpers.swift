import Foundation
import Media
import RTMP
import StreamHub
import Testing
import TestSupport

/// The suites that publish in real time for many seconds beside a second server or an encoder, one test at a time:
/// on a 2-core machine they would otherwise starve each other and the timing-sensitive tests of the rest.
@Suite(.serialized) struct LongRealTimeTests {}

/// Starts a server, runs `body`, and stops the server whether `body` threw or not.
func withServer(
    configure: (inout Server.ServerConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(configure: configure)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

import Server

/// ffmpeg publishing a fixture as a real encoder does (`-re`: at its own pace).
func ffmpegPublish(_ fixture: String, to url: String, realtime: Bool = true, requireSuccess: Bool = true) async throws -> Tool.Output {
    var arguments = ["-hide_banner", "-nostdin", "-loglevel", "info"]
    if realtime { arguments.append("-re") }
    arguments += ["-i", Fixtures.path(fixture), "-c", "copy", "-f", "flv", url]
    return try await Tool("ffmpeg").run(arguments, timeout: 90, requireSuccess: requireSuccess)
}

/// ffmpeg publishing the B-frame fixture `loops + 1` times in real time, in the background (6 s per pass).
func ffmpegPublishLooping(_ url: String, loops: Int) -> Task<Tool.Output, any Error> {
    Task {
        try await Tool("ffmpeg").run([
            "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", String(loops), "-i",
            Fixtures.path(Fixtures.bframes), "-c", "copy", "-f", "flv", url,
        ], timeout: 90)
    }
}

/// What a fixture holds, read by ffprobe.
struct FixtureFacts {
    var video: [ProbedPacket]
    var audio: [ProbedPacket]

    static func of(_ fixture: String) async throws -> FixtureFacts {
        try await of(path: Fixtures.path(fixture))
    }

    static func of(path: String) async throws -> FixtureFacts {
        let packets = try await FFprobe.packets(of: path)
        return FixtureFacts(video: packets.filter { $0.mediaType == "video" }, audio: packets.filter { $0.mediaType == "audio" })
    }
}

/// Checks that the received frames are exactly the fixture's: same count, DTS increasing (strictly unless the
/// sender is known to repeat DTS) with the same spacing, and the same composition offsets frame by frame.
func expectLossless(_ events: [StreamEvent], _ facts: FixtureFacts, strictDTS: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
    let video = events.frames(.video)
    let audio = events.frames(.audio)
    #expect(video.count == facts.video.count, "video frames", sourceLocation: sourceLocation)
    #expect(audio.count == facts.audio.count, "audio frames", sourceLocation: sourceLocation)
    guard video.count == facts.video.count, let first = video.first, let expectedFirst = facts.video.first else { return }
    #expect(zip(video, video.dropFirst()).allSatisfy { strictDTS ? $0.dts < $1.dts : $0.dts <= $1.dts }, "video DTS increasing", sourceLocation: sourceLocation)
    let audioDTS = audio.map(\.dts)
    #expect(zip(audioDTS, audioDTS.dropFirst()).allSatisfy { strictDTS ? $0 < $1 : $0 <= $1 }, "audio DTS increasing", sourceLocation: sourceLocation)
    // Audio and video share one clock: audio times relative to the first video frame match the source.
    let receivedAudio = audioDTS.map { $0 - first.dts }
    let expectedAudio = facts.audio.map { $0.dtsMilliseconds - expectedFirst.dtsMilliseconds }
    #expect(receivedAudio == expectedAudio, "audio timestamps", sourceLocation: sourceLocation)
    let received = video.map { ($0.dts - first.dts, $0.pts - $0.dts, $0.isKeyframe) }
    let expected = facts.video.map { ($0.dtsMilliseconds - expectedFirst.dtsMilliseconds, $0.ptsMilliseconds - $0.dtsMilliseconds, $0.isKeyframe) }
    let mismatches = zip(received, expected).enumerated().filter { $0.element.0 != $0.element.1 }
    #expect(mismatches.isEmpty, "frames differing from the fixture (index, received, expected): \(mismatches.prefix(5))", sourceLocation: sourceLocation)
    #expect(received.contains { $0.1 > 0 }, "fixture has B-frames, so some composition offsets are positive", sourceLocation: sourceLocation)
}

extension TestServer {
    /// Makes a key for `path`, publishes the B-frame fixture to it in real time (`loops` extra passes, with
    /// `query` added to the URL) and waits until the stream is live.
    func publishLive(_ path: StreamPath, loops: Int, query: String = "") async throws -> Task<Tool.Output, any Error> {
        let secret = try await server.keys.add(stream: path.description)
        let publish = ffmpegPublishLooping("\(rtmpBase)/\(path.app)/\(path.name)?key=\(secret)\(query)", loops: loops)
        try await eventually("stream \(path) live") { server.hub.stream(path) != nil }
        return publish
    }
}

/// A CA and a server certificate it signs, made with the openssl command: `ca.pem`/`ca.key` and
/// `<name>.pem`/`<name>.key` (CN and SAN localhost and 127.0.0.1) in `directory`. A second call with another
/// `name` reuses the CA, so the new leaf has a new serial under the same trust.
enum TestCertificates {
    static func make(in directory: String, name: String = "server") async throws {
        let openssl = Tool("openssl")
        if !FileManager.default.fileExists(atPath: "\(directory)/ca.pem") {
            _ = try await openssl.run([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/ca.key", "-out", "\(directory)/ca.pem", "-days", "2",
                "-subj", "/CN=CueCast Test CA",
            ])
        }
        _ = try await openssl.run([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", "/CN=localhost",
        ])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(directory)/ext.cnf", atomically: true, encoding: .utf8)
        _ = try await openssl.run([
            "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/ca.pem", "-CAkey", "\(directory)/ca.key",
            "-CAcreateserial", "-out", "\(directory)/\(name).pem", "-days", "2", "-extfile", "\(directory)/ext.cnf",
        ])
    }
}

/// A 6 s 720p clip at 8 Mbit/s with a keyframe each second (`<directory>/8m.flv`): its 2 s segments are about
/// 2 MB, more than socket buffers hold, so a slow reader really keeps the server writing.
func highBitrateClip(in directory: String) async throws -> String {
    let clip = "\(directory)/8m.flv"
    _ = try await Tool("ffmpeg").run([
        "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
        "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M",
        "-g", "30", "-c:a", "aac", "-f", "flv", "-y", clip,
    ], timeout: 120)
    return clip
}

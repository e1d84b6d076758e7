#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Media
import StreamHub
import Testing
import TestSupport

/// Other implementations read CueCast's RTMP play and HTTP-FLV: GStreamer's `rtmp2src` and `souphttpsrc` with
/// `flvdemux`, and nginx-rtmp pulling the stream (a third RTMP implementation talking to ours) for an ffmpeg
/// that reads nginx.
@Suite struct OtherReadersTests {
    /// Video packets of a file, keyframe flags in order, read by ffprobe.
    static func videoFlags(_ path: String) async throws -> [Bool] {
        try await FFprobe.packets(of: path).filter { $0.mediaType == "video" }.map(\.isKeyframe)
    }

    @Test func gstreamerReadsRTMPAndHTTPFLV() async throws {
        try await withServer { server in
            let publish = try await server.publishLive(StreamPath("live/gst-read")!, loops: 1)
            defer { publish.cancel() }
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            // 90 video buffers (3 s of the clip), then end of stream: the file is complete.
            func read(_ source: String, into file: String) async throws -> Tool.Output {
                let pipeline = "\(source) ! flvdemux name=d d.video ! queue ! identity eos-after=90 ! h264parse ! matroskamux ! filesink location=\(file)"
                return try await Tool("gst-launch-1.0").run(["-q"] + pipeline.split(separator: " ").map(String.init), timeout: 60)
            }
            async let rtmp = read("rtmp2src location=\(server.rtmpBase)/live/gst-read", into: directory.path + "/rtmp.mkv")
            async let http = read("souphttpsrc location=\(server.httpBase)/live/gst-read.flv", into: directory.path + "/http.mkv")
            _ = try await (rtmp, http)
            for file in ["rtmp.mkv", "http.mkv"] {
                let flags = try await Self.videoFlags(directory.path + "/" + file)
                #expect(flags.count >= 85, "\(file): \(flags.count) video frames")
                #expect(flags.first == true, "\(file) starts with a keyframe")
                #expect(flags.filter { $0 }.count >= 2, "\(file) spans GOPs")
            }
        }
    }

    @Test func nginxRTMPPullsFromCueCast() async throws {
        try await withServer { server in
            let publish = try await server.publishLive(StreamPath("live/relay")!, loops: 1)
            defer { publish.cancel() }
            let port = try await Nginx.freePort()
            let nginx = try Nginx.start(
                "events {}\nrtmp { server { listen 127.0.0.1:\(port); application live { live on; pull \(server.rtmpBase)/live; } } }",
                rtmpModule: true)
            defer { nginx.stop() }
            let file = nginx.directory.path + "/through-nginx.flv"
            var output: Tool.Output?
            // nginx needs a moment to listen; ffmpeg is simply tried again.
            for _ in 0..<10 where output?.status != 0 {
                try await Task.sleep(for: .milliseconds(300))
                output = try await Tool("ffmpeg").run(
                    ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", "rtmp://127.0.0.1:\(port)/live/relay", "-t", "3", "-c", "copy", "-f", "flv", "-y", file],
                    timeout: 30, requireSuccess: false)
            }
            #expect(output?.status == 0, "\(output?.stderr ?? "")")
            let flags = try await Self.videoFlags(file)
            #expect(flags.count >= 80, "\(flags.count) video frames through nginx")
            #expect(flags.first == true)
            #expect(server.logs.contains("play started"), "nginx played from CueCast")
        }
    }
}

import Foundation
import Media
import Testing
import TestSupport

@Suite struct GStreamerPublishTests {
    /// GStreamer demuxes and re-muxes the fixture itself; what it sends is what its flvmux writes to a file.
    static func pipeline(sink: String) -> [String] {
        """
        filesrc location=\(Fixtures.path(Fixtures.bframes)) ! flvdemux name=d \
        d.video ! queue ! h264parse ! queue ! mux.video \
        d.audio ! queue ! aacparse ! queue ! mux.audio \
        flvmux name=mux streamable=true ! \(sink)
        """.split(separator: " ").map(String.init)
    }

    @Test func rtmp2sinkPublishesExactlyWhatGStreamerMuxes() async throws {
        let reference = try TemporaryDirectory()
        defer { reference.remove() }
        let file = reference.path + "/gst.flv"
        _ = try await Tool("gst-launch-1.0").run(["-q"] + Self.pipeline(sink: "filesink location=\(file)"), timeout: 60)
        // flvmux rebases time to zero and clamps the leading frames' negative DTS to 0, so the first three
        // video frames share DTS 0: DTS is monotonic here but not strictly.
        let facts = try await FixtureFacts.of(path: file)
        let fixture = try await FixtureFacts.of(Fixtures.bframes)
        #expect(facts.video.count == fixture.video.count)
        #expect(facts.audio.count == fixture.audio.count)

        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/gst")
            let recording = server.record(StreamPath("live/gst")!)
            let output = try await Tool("gst-launch-1.0").run(
                ["-q"] + Self.pipeline(sink: "rtmp2sink location=\(server.rtmpBase)/live/gst?key=\(secret)"),
                timeout: 60, requireSuccess: false)
            #expect(output.status == 0, "\(output.stderr)")
            expectLossless(await recording.value, facts, strictDTS: false)
            #expect(!server.logs.all.contains { $0.contains(secret) })
        }
    }
}

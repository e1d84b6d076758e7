import Foundation
import Media
import StreamHub
import Testing
import TestSupport

/// RTMP play and HTTP-FLV, read by real ffmpeg/ffprobe and by a small FLV reader that shares no code with the
/// server (`scripts/testing/flv_read.py`).
@Suite struct PlaybackTests {
    static let flvReader = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/flv_read.py").path

    /// What `flv_read.py` prints.
    struct FLVRead: Decodable {
        struct Tag: Decodable {
            struct SEI: Decodable { var uuid: String; var text: String }
            var type: Int
            var timestamp: Int64
            var size: Int
            var keyframe: Bool?
            var packetType: Int?
            var cts: Int64?
            var sei: [SEI]?
        }
        struct Script: Decodable {
            var timestamp: Int64
            var name: String
        }
        var status: Int
        var headers: [String: String]
        var tags: [Tag]
        var script: [Script]
        var ended: Bool
        var error: String?
        var scriptValues: [[String: JSONAny]]? = nil

        var videoFrames: [Tag] { tags.filter { $0.type == 9 && $0.packetType == 1 } }
    }

    /// Any JSON, for the parts of the reader's output a test only looks into.
    struct JSONAny: Decodable {
        var value: Any
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let v = try? container.decode([String: JSONAny].self) { value = v.mapValues(\.value) }
            else if let v = try? container.decode([JSONAny].self) { value = v.map(\.value) }
            else if let v = try? container.decode(Double.self) { value = v }
            else if let v = try? container.decode(String.self) { value = v }
            else if let v = try? container.decode(Bool.self) { value = v }
            else { value = NSNull() }
        }
    }

    static func readFLV(_ url: String, seconds: Double, rate: Int? = nil) async throws -> (FLVRead, [[String: Any]]) {
        var arguments = [flvReader, url, "--seconds", String(seconds)]
        if let rate { arguments += ["--rate", String(rate)] }
        let output = try await Tool("python3").run(arguments, timeout: seconds + 30)
        let read = try JSONDecoder().decode(FLVRead.self, from: Data(output.text.utf8))
        struct Values: Decodable { var script: [[String: JSONAny]] }
        let values = try JSONDecoder().decode(Values.self, from: Data(output.text.utf8)).script.map { $0.mapValues(\.value) }
        return (read, values)
    }

    /// A player joining mid-publish over RTMP and one over HTTP-FLV each get a keyframe first, then every frame
    /// the server received from there on, with the publisher's DTS and composition offsets; both end when the
    /// publisher does. With `--gop-cache off` they start at the next keyframe instead of the current GOP's.
    @Test(arguments: [true, false])
    func ffmpegReadsRTMPAndHTTPFLVFrameForFrame(gopCache: Bool) async throws {
        try await withServer(configure: { $0.gopCache = gopCache }) { server in
            let path = StreamPath("live/play")!
            let secret = try await server.server.keys.add(stream: path.description)
            let recording = server.record(path)
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/\(secret)", loops: 1)
            try await server.eventually("stream live") { server.server.hub.stream(path) != nil }
            try await Task.sleep(for: .seconds(2))
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            // `-copyinkf`: ffmpeg's stream copy otherwise drops frames before the first keyframe itself.
            func read(_ url: String, into file: String) async throws -> Tool.Output {
                try await Tool("ffmpeg").run(
                    ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", url, "-c", "copy", "-copyinkf", "-copyts", "-f", "flv", "-y", file],
                    timeout: 60)
            }
            let keyframesBeforeJoin = try #require(server.server.hub.stream(path)).counters.keyframes
            async let rtmp = read("\(server.rtmpBase)/live/play", into: directory.path + "/rtmp.flv")
            async let flv = read("\(server.httpBase)/live/play.flv", into: directory.path + "/http.flv")
            _ = try await (rtmp, flv)
            _ = try await publish.value
            let published = await recording.value.frames(.video)
            for file in ["rtmp.flv", "http.flv"] {
                let received = try await FFprobe.packets(of: directory.path + "/" + file).filter { $0.mediaType == "video" }
                let first = try #require(received.first, "\(file) has video")
                #expect(first.isKeyframe, "\(file) starts with a keyframe")
                let expected = published.filter { $0.dts >= first.dtsMilliseconds }
                #expect(expected.first?.dts == first.dtsMilliseconds, "\(file) starts on a frame the publisher sent")
                #expect(received.count == expected.count, "\(file): every frame from the join on")
                #expect(zip(received, received.dropFirst()).allSatisfy { $0.dtsMilliseconds < $1.dtsMilliseconds }, "\(file) DTS increasing")
                let offsets = received.map { $0.ptsMilliseconds - $0.dtsMilliseconds }
                #expect(offsets == expected.prefix(received.count).map { $0.pts - $0.dts }, "\(file): composition offsets as published")
                #expect(offsets.contains { $0 > 0 })
                #expect(published.count - expected.count > 30, "\(file) joined mid-publish")
                if !gopCache {
                    let keyframesBefore = published.filter { $0.isKeyframe && $0.dts < first.dtsMilliseconds }.count
                    #expect(keyframesBefore >= keyframesBeforeJoin, "\(file): no GOP kept, so it starts at a keyframe sent after the join")
                }
            }
            #expect(server.logs.contains("play started"))
            #expect(server.logs.contains("HTTP-FLV viewer joined"))
            try await server.eventually("viewers counted out") { server.server.hub.viewers.load(ordering: .relaxed) == 0 }
        }
    }

    /// A pin placed over the API reaches an HTTP-FLV viewer as `onCuePoint` right before the bound frame, at its
    /// time, with the kind as its name and the cue JSON's fields as parameters. The FLV is read by a parser of
    /// its own.
    @Test func cuesReachHTTPFLVAsOnCuePoint() async throws {
        try await withServer { server in
            let path = StreamPath("live/cuepoint")!
            let publish = try await server.publishLive(path, loops: 0)
            async let reading = Self.readFLV("\(server.httpBase)/live/cuepoint.flv", seconds: 8)
            // The cue goes in once the reader is attached (a reader that joins later gets no past cue).
            try await server.eventually("readers attached") { server.server.hub.stream(path)?.viewers.load(ordering: .relaxed) ?? 0 >= 1 }
            try await Task.sleep(for: .seconds(0.5))
            let answer = try await server.request(
                .POST, "/api/v1/streams/live/cuepoint/cues",
                body: #"{"id":"pin-1","kind":"product.pin","payload":{"sku":"A1","title":"Tea set","price":199,"currency":"CNY"}}"#)
            #expect(answer.status == 201, "\(answer.body)")
            let cue = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            let pts = try #require(cue["pts"] as? Int)
            let (read, values) = try await reading
            _ = try? await publish.value
            #expect(read.status == 200)
            #expect(read.headers["content-type"] == "video/x-flv")
            #expect(read.headers["access-control-allow-origin"] == "*")
            #expect(read.error == nil)
            #expect(read.tags.first { $0.type == 9 && $0.packetType == 1 }?.keyframe == true, "first video frame is a keyframe")
            #expect(read.script.first?.name == "onMetaData")
            let index = try #require(read.script.firstIndex { $0.name == "onCuePoint" }, "\(read.script.map(\.name))")
            let frameTime = Int64((pts - 900_000) / 90)
            #expect(read.script[index].timestamp == frameTime, "at the bound frame's time")
            // Right before its frame: the next tag is the video frame presented at exactly that time.
            let tagIndex = try #require(read.tags.firstIndex { $0.type == 18 && $0.timestamp == frameTime })
            let next = try #require(read.tags.dropFirst(tagIndex + 1).first)
            #expect(next.type == 9 && next.timestamp + (next.cts ?? 0) == frameTime, "the tag after onCuePoint: \(next)")
            let point = values[index]["value"] as? [String: Any]
            #expect(point?["name"] as? String == "product.pin")
            let parameters = point?["parameters"] as? [String: Any]
            #expect(parameters?["id"] as? String == "pin-1")
            #expect((parameters?["payload"] as? [String: Any])?["price"] as? Double == 199)
        }
    }

    /// With `cueSEI=1` in the publish URL, a pin also rides in its frame as an H.264 `user_data_unregistered` SEI
    /// message with our UUID and the cue JSON, read back by the test's own NAL parser from HTTP-FLV, and the
    /// bitstream stays valid for ffmpeg's `trace_headers`.
    @Test func cuesRideInTheirFrameAsSEIWhenAsked() async throws {
        try await withServer { server in
            let path = StreamPath("live/sei")!
            let publish = try await server.publishLive(path, loops: 0, query: "&cueSEI=1")
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let capture = directory.path + "/sei.flv"
            async let reading = Self.readFLV("\(server.httpBase)/live/sei.flv", seconds: 8)
            async let copying = Tool("ffmpeg").run(
                ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", "\(server.httpBase)/live/sei.flv", "-t", "3.5", "-c", "copy", "-y", capture],
                timeout: 30)
            // The cue goes in once the reader is attached (a reader that joins later gets no past cue).
            try await server.eventually("readers attached") { server.server.hub.stream(path)?.viewers.load(ordering: .relaxed) ?? 0 >= 2 }
            try await Task.sleep(for: .seconds(0.5))
            let answer = try await server.request(
                .POST, "/api/v1/streams/live/sei/cues",
                body: #"{"id":"sei-pin","kind":"product.pin","payload":{"sku":"S1","title":"Cup","price":9,"currency":"CNY"}}"#)
            #expect(answer.status == 201, "\(answer.body)")
            let pts = try #require((try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["pts"] as? Int)
            let (read, _) = try await reading
            _ = try await copying
            _ = try? await publish.value
            let frameTime = Int64((pts - 900_000) / 90)
            // x264 puts its own user data SEI (its settings) in the first frame: ours is the one with our UUID.
            let ours = UserDataSEI.cueUUID.map { String(format: "%02x", $0) }.joined()
            let carrying = read.videoFrames.filter { $0.sei?.contains { $0.uuid == ours } == true }
            #expect(carrying.count == 1, "one frame carries it: \(carrying.map(\.timestamp))")
            let frame = try #require(carrying.first)
            #expect(frame.timestamp + (frame.cts ?? 0) == frameTime, "the bound frame")
            let sei = try #require(frame.sei?.first { $0.uuid == ours })
            #expect(sei.text.contains(#""id":"sei-pin""#) && sei.text.contains(#""kind":"product.pin""#))
            let trace = try await Tool("ffmpeg").run(
                ["-hide_banner", "-nostdin", "-loglevel", "trace", "-i", capture, "-c:v", "copy", "-an", "-bsf:v", "trace_headers", "-f", "null", "-"],
                timeout: 60)
            #expect(trace.stderr.contains("uuid_iso_iec_11578"), "trace_headers read our SEI")
            #expect(!trace.stderr.contains("Failed to read unit"), "and the rest of the bitstream")
        }
    }

    /// Viewers joining a 4 Mbit/s stream late in a 4 s GOP get the GOP (over a MB) at once: the socket fills, turns
    /// unwritable and writable again while chunks are being written. Every byte must still be framed right (a
    /// chunk once landed inside another: ffmpeg coped, strict readers did not).
    @Test func aBigGOPBurstKeepsTheChunkedFramingWhole() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clip = directory.path + "/4mbit.flv"
        _ = try await Tool("ffmpeg").run(
            ["-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
             "-i", "sine=frequency=440:sample_rate=48000", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M",
             "-g", "120", "-c:a", "aac", "-f", "flv", "-y", clip], timeout: 120)
        try await withServer { server in
            let path = StreamPath("live/burst")!
            let secret = try await server.server.keys.add(stream: path.description)
            let publish = Task {
                try await Tool("ffmpeg").run(
                    ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", clip, "-c", "copy", "-f", "flv",
                     "\(server.rtmpBase)/live/burst?key=\(secret)"], timeout: 60)
            }
            try await server.eventually("stream live") { server.server.hub.stream(path) != nil }
            // More frames than a reader takes per batch (audio and video), so its queue is not empty mid-burst.
            for join in [2.5, 0.4] {
                try await Task.sleep(for: .seconds(join))
                async let first = Self.readFLV("\(server.httpBase)/live/burst.flv", seconds: 1.5)
                async let second = Self.readFLV("\(server.httpBase)/live/burst.flv", seconds: 1.5)
                async let player = RTMPPlayTests.play("\(server.rtmpBase)/live/burst", seconds: 1.5)
                for (read, _) in try await [first, second] {
                    #expect(read.error == nil, "joined at +\(join) s: \(read.error ?? "")")
                    #expect(read.videoFrames.count > 30)
                    #expect(zip(read.videoFrames, read.videoFrames.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
                }
                let (played, _) = try await player
                #expect(played.error == nil, "RTMP joined at +\(join) s: \(played.error ?? "")")
                let frames = played.frames.filter { $0.packetType == 1 }
                #expect(frames.count > 30 && zip(frames, frames.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
            }
            _ = try? await publish.value
        }
    }

    /// Unknown streams and paths get clear answers; the per-stream viewer limit refuses the next viewer.
    @Test func refusalsAndLimits() async throws {
        try await withServer(configure: { $0.viewers.perStream = 1 }) { server in
            let missing = try await server.request(.GET, "/live/nobody.flv", token: .some(nil))
            #expect(missing.status == 404)
            #expect(missing.body.contains("no live stream live/nobody"))
            let path = StreamPath("live/limited")!
            let publish = try await server.publishLive(path, loops: 0)
            async let first = Self.readFLV("\(server.httpBase)/live/limited.flv", seconds: 3)
            try await server.eventually("first viewer in") { server.server.hub.viewers.load(ordering: .relaxed) == 1 }
            let second = try await server.request(.GET, "/live/limited.flv", token: .some(nil))
            #expect(second.status == 503)
            #expect(second.body.contains("viewer limit of live/limited (1) reached"))
            let rtmp = try await Tool("ffmpeg").run(
                ["-hide_banner", "-nostdin", "-i", "\(server.rtmpBase)/live/limited", "-t", "1", "-f", "null", "-"], timeout: 30,
                requireSuccess: false)
            #expect(rtmp.status != 0)
            #expect(rtmp.stderr.contains("viewer limit"), "\(rtmp.stderr)")
            #expect(try await first.0.videoFrames.count > 10)
            _ = try? await publish.value
        }
    }

    /// A viewer taking 4 KB/s beside a normal one: it is closed once it has been behind past the lag limit, and
    /// the normal viewer gets the stream at its real rate.
    @Test func aSlowViewerIsClosedAndTheNormalOneKeepsUp() async throws {
        try await withServer(configure: { $0.viewers.maxLagSeconds = 2 }) { server in
            let path = StreamPath("live/slow")!
            let publish = try await server.publishLive(path, loops: 1)
            async let slow = Self.readFLV("\(server.httpBase)/live/slow.flv", seconds: 11, rate: 4096)
            async let normal = Self.readFLV("\(server.httpBase)/live/slow.flv", seconds: 4)
            let (slowRead, normalRead) = try await (slow.0, normal.0)
            _ = try? await publish.value
            // What the server sent before closing still sits in the slow client's socket: the close is seen in the log.
            // A slow reader flips the socket's writability again and again: a chunk written while another was
            // being written would break the chunked framing (it once did), which the reader checks strictly.
            #expect(slowRead.error == nil, "what the slow viewer got is well-formed FLV in well-formed chunks")
            #expect(normalRead.error == nil)
            #expect(server.logs.contains("fell more than 2 s behind"))
            #expect(server.logs.all.contains { $0.contains("HTTP-FLV viewer left") && $0.contains("behind") })
            // 4 s of a 30 fps stream, plus the GOP it started with.
            let frames = normalRead.videoFrames
            #expect(frames.count >= 100, "normal viewer at real-time rate: \(frames.count) frames")
            let span = (frames.last?.timestamp ?? 0) - (frames.first?.timestamp ?? 0)
            #expect(span >= 3000, "normal viewer covered \(span) ms")
        }
    }
}

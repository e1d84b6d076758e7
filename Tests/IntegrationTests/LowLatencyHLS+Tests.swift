import Foundation
import Media
import Testing
import TestSupport

/// Low-Latency HLS over CMAF (`ll.m3u8`), read by readers that share no code with the server: a small LL-HLS
/// client (`scripts/testing/llhls_client.py`: blocking reloads, preload-hint fetches, its own ISO-BMFF reader), a
/// rule checker (`llhls_rules.py`, on Python `m3u8`), ffprobe, and GStreamer's `hlsdemux2` reading it as plain HLS.
extension LongRealTimeTests {
    @Suite struct LowLatencyHLSTests {
        static let scripts = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing")

        /// What `llhls_client.py` prints.
        struct ClientReport: Decodable {
            var parts: Int
            var samples: [String: Int]
            var handlers: [String: String]?
            var blocking_reloads: Int
            var hint_fetches: Int
            var hint_misses: Int?
            var waits: [Double]
            var errors: [String]
        }

        static func waitForLowLatencyPlaylist(_ server: TestServer, _ stream: String) async throws -> String {
            var text = ""
            try await server.eventually(timeout: 30, "ll.m3u8 of \(stream)") {
                let response = try await server.fetch("/hls/\(stream)/ll.m3u8")
                text = String(decoding: response.body, as: UTF8.self)
                return response.status == 200 && text.contains("#EXT-X-PART:")
            }
            return text
        }

        /// The client follows the stream part by part for 10 s while the rule checker reloads the playlist for
        /// 12 s: every frame arrives once and in order, and the playlist keeps the draft's rules throughout.
        @Test func aClientFollowsPartByPartAndThePlaylistKeepsTheRules() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 2 }) { server in
                let publish = try await server.publishLive(StreamPath("live/ll")!, loops: 4)
                defer { publish.cancel() }
                _ = try await Self.waitForLowLatencyPlaylist(server, "live/ll")
                let url = "\(server.httpBase)/hls/live/ll/ll.m3u8"
                async let rules = Tool("python3").run(
                    [Self.scripts.appendingPathComponent("llhls_rules.py").path, url, "--seconds", "12"], timeout: 60, requireSuccess: false)
                async let client = Tool("python3").run(
                    [Self.scripts.appendingPathComponent("llhls_client.py").path, url, "--seconds", "10"], timeout: 60, requireSuccess: false)
                let (checked, followed) = try await (rules, client)
                #expect(checked.status == 0 && checked.text.hasPrefix("ok:"), "draft rules: \(checked.text)\(checked.stderr)")
                let report = try JSONDecoder().decode(ClientReport.self, from: Data(followed.text.utf8))
                #expect(followed.status == 0 && report.errors.isEmpty, "client: \(report.errors)")
                let video = report.handlers?.first { $0.value == "vide" }.flatMap { report.samples[$0.key] } ?? 0
                let audio = report.handlers?.first { $0.value == "soun" }.flatMap { report.samples[$0.key] } ?? 0
                // 10 s of a 30 fps stream with 48 kHz AAC, read live from the newest independent part.
                #expect(video >= 240 && video <= 360, "\(video) video frames in 10 s")
                #expect(audio >= 350, "\(audio) audio frames in 10 s")
                #expect(report.parts >= 40, "\(report.parts) parts of about 0.2 s in 10 s")
                #expect(report.blocking_reloads > 0 && report.hint_fetches > 0)
                // Each held request is answered when its part lands: a part target later, give or take.
                let slowest = report.waits.max() ?? 0
                #expect(slowest < 1.5, "slowest held request \(slowest) s")
            }
        }

        /// A whole segment and its parts, fetched and read by ffprobe behind the init segment: the parts are the
        /// segment's bytes in order, and every frame of it plays.
        /// libavformat's MP4 muxer keeps a record of every fragment it writes, so CueCast replaces it at a segment
        /// boundary (here after 3 fragments: at nearly every segment). The one init segment stays valid and the
        /// timeline unbroken: init plus every listed segment decodes with each video frame 1/30 s after the one
        /// before, none missing or repeated.
        @Test func aReplacedMuxerKeepsOneTimeline() async throws {
            try await withServer(configure: {
                $0.hls.gracePeriod = 2
                $0.hls.fragmentsPerMuxer = 3
            }) { server in
                let publish = try await server.publishLive(StreamPath("live/llrotate")!, loops: 3)
                defer { publish.cancel() }
                var playlist = ""
                try await server.eventually(timeout: 40, "four whole segments") {
                    playlist = try await Self.waitForLowLatencyPlaylist(server, "live/llrotate")
                    return entries(of: playlist).count >= 4
                }
                #expect(server.logs.contains("fMP4 muxer replaced"))
                let maps = playlist.split(separator: "\n").filter { $0.hasPrefix("#EXT-X-MAP:URI=") }
                #expect(maps.count == 1, "one init segment for the whole timeline: \(maps)")
                let base = "/hls/live/llrotate/"
                var bytes = try await server.fetch(base + String(try #require(maps.first).split(separator: "\"")[1])).body
                let listed = entries(of: playlist)
                for entry in listed { bytes += try await server.fetch(base + entry.uri).body }
                let dir = try TemporaryDirectory()
                defer { dir.remove() }
                try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/all.mp4"))
                let video = try await FFprobe.packets(of: dir.path + "/all.mp4").filter { $0.mediaType == "video" }
                #expect(video.count >= listed.count * 59, "\(video.count) frames in \(listed.count) segments")
                let steps = zip(video, video.dropFirst()).map { $1.dtsMilliseconds - $0.dtsMilliseconds }
                // One frame is 33 ms; where the 6.07 s fixture loops, 50 (the same with rotation off). A muxer that
                // restarted the timeline would show a jump back, a repeated frame 0, a lost one 67.
                let odd = steps.enumerated().filter { !(30...37).contains($0.element) && !((179 - $0.offset) % 180 == 0 && $0.element == 50) }
                #expect(odd.isEmpty, "DTS steps other than one frame (index, ms): \(odd.prefix(10))")
            }
        }

        @Test func ffprobeReadsTheInitSegmentWithPartsAndSegments() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 2 }) { server in
                let publish = try await server.publishLive(StreamPath("live/llprobe")!, loops: 1)
                defer { publish.cancel() }
                var playlist = ""
                try await server.eventually(timeout: 30, "two whole segments") {
                    playlist = try await Self.waitForLowLatencyPlaylist(server, "live/llprobe")
                    return entries(of: playlist).count >= 2
                }
                let lines = playlist.split(separator: "\n").map(String.init)
                let map = try #require(lines.first { $0.hasPrefix("#EXT-X-MAP:URI=") }).split(separator: "\"")[1]
                // The newest whole segment (parts are listed for the last three target durations only) and the
                // parts listed between the segment before it and its URI.
                let all = entries(of: playlist)
                let segment = try #require(all.last)
                let end = try #require(lines.firstIndex(of: segment.uri))
                let begin = all.count > 1 ? (lines.firstIndex(of: all[all.count - 2].uri) ?? 0) : 0
                var parts: [String] = []
                for line in lines[begin..<end] where line.hasPrefix("#EXT-X-PART:") {
                    parts.append(String(line.split(separator: "\"")[1]))
                }
                #expect(parts.count >= 5, "parts of \(segment.uri): \(parts)")
                let base = "/hls/live/llprobe/"
                let initBytes = try await server.fetch(base + map)
                #expect(initBytes.status == 200 && initBytes.headers.first(name: "content-type") == "video/mp4")
                let whole = try await server.fetch(base + segment.uri)
                #expect(whole.status == 200)
                var joined: [UInt8] = []
                for part in parts {
                    let fetched = try await server.fetch(base + part)
                    #expect(fetched.status == 200 && fetched.headers.first(name: "cache-control")?.contains("immutable") == true)
                    joined += fetched.body
                }
                #expect(joined == whole.body, "the parts are the segment, in order")
                let dir = try TemporaryDirectory()
                defer { dir.remove() }
                let path = dir.path + "/segment.mp4"
                try Data(initBytes.body + whole.body).write(to: URL(fileURLWithPath: path))
                let packets = try await FFprobe.packets(of: path)
                // Segments are cut at a keyframe past 2 s: the fixture's GOPs are 1 s.
                #expect(packets.videoCount >= 59 && packets.videoCount <= 63, "\(packets.videoCount) video frames")
                #expect(packets.firstVideo?.isKeyframe == true)
                #expect(abs(Double(packets.videoCount) / 30 - segment.duration) < 0.1, "EXTINF \(segment.duration)")
                let onePart = dir.path + "/part.mp4"
                try Data(initBytes.body + (try await server.fetch(base + parts[1])).body).write(to: URL(fileURLWithPath: onePart))
                let partPackets = try await FFprobe.packets(of: onePart)
                #expect(partPackets.videoCount == 6, "a 0.2 s part of a 30 fps stream: \(partPackets.videoCount) frames")
            }
        }

        /// Directives a server must refuse get a 400 that says why; a held reload is answered with the part it
        /// waited for; a stream that ends while requests are held answers them with EXT-X-ENDLIST.
        @Test func directivesAreCheckedAndHeldRequestsAreAnswered() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
                let publish = try await server.publishLive(StreamPath("live/lldir")!, loops: 0)
                defer { publish.cancel() }
                let playlist = try await Self.waitForLowLatencyPlaylist(server, "live/lldir")
                for (query, reason) in [
                    ("_HLS_msn=abc", "non-negative integer"), ("_HLS_msn=-1", "non-negative integer"), ("_HLS_part=2", "needs _HLS_msn"),
                    ("_HLS_msn=999999", "too far ahead"), ("_HLS_skip=maybe", "YES or v2"),
                ] {
                    let response = try await server.fetch("/hls/live/lldir/ll.m3u8?\(query)")
                    let body = String(decoding: response.body, as: UTF8.self)
                    #expect(response.status == 400 && body.contains(reason), "\(query): \(response.status) \(body)")
                    #expect(response.headers.first(name: "access-control-allow-origin") == "*")
                }
                // The next part after the newest listed.
                let lines = playlist.split(separator: "\n")
                let sequence = (mediaSequence(of: playlist) ?? 0) + entries(of: playlist).count
                let openParts = lines.reversed().prefix { !$0.hasPrefix("#EXTINF") }.filter { $0.hasPrefix("#EXT-X-PART:") }.count
                let started = Date()
                let held = try await server.fetch("/hls/live/lldir/ll.m3u8?_HLS_msn=\(sequence)&_HLS_part=\(openParts)")
                let text = String(decoding: held.body, as: UTF8.self)
                #expect(held.status == 200)
                // Named by the next segment's part 0 when the segment ended first.
                #expect(text.contains("-\(sequence).\(openParts).m4s\"") || text.contains("-\(sequence + 1).0.m4s\""), "\(text)")
                #expect(Date().timeIntervalSince(started) < 3)
                // The publish (6 s) ends; a reload held for a part that never comes is answered when the playlist ends.
                _ = try? await publish.value
                let after = try await server.fetch("/hls/live/lldir/ll.m3u8")
                let last = String(decoding: after.body, as: UTF8.self)
                let next = (mediaSequence(of: last) ?? 0) + entries(of: last).count + 1
                let ending = try await server.fetch("/hls/live/lldir/ll.m3u8?_HLS_msn=\(next)")
                let endText = String(decoding: ending.body, as: UTF8.self)
                #expect(
                    (ending.status == 200 && endText.contains("#EXT-X-ENDLIST")) || ending.status == 503,
                    "held while the stream ended: \(ending.status) \(endText)")
            }
        }

        /// What `http_pipeline.py` prints for each response, in the order they came.
        struct PipelinedAnswer: Decodable {
            var status: Int
            var headers: [String: String]
            var body: String
            var seconds: Double
        }

        static func pipelined(_ server: TestServer, _ paths: [String]) async throws -> [PipelinedAnswer] {
            let output = try await Tool("python3").run(
                [scripts.appendingPathComponent("http_pipeline.py").path, "127.0.0.1", "\(server.httpPort)"] + paths, timeout: 60)
            return try JSONDecoder().decode([PipelinedAnswer].self, from: output.stdout)
        }

        /// A blocking reload held on its connection keeps its place: requests pipelined behind it (one answered
        /// beside the router, one by the router) are answered after it, in order; one behind a router's request is
        /// held by the router. Once the publish has stopped, a
        /// reload held for a part that does not come within three target durations gets the router's 503 (JSON
        /// body, CORS header), and the request behind it is still answered.
        @Test func aHeldReloadKeepsItsPlaceAmongPipelinedRequests() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 60 }) { server in
                let publish = try await server.publishLive(StreamPath("live/llpipe")!, loops: 0)
                defer { publish.cancel() }
                let playlist = try await Self.waitForLowLatencyPlaylist(server, "live/llpipe")
                let sequence = (mediaSequence(of: playlist) ?? 0) + entries(of: playlist).count
                let openParts = playlist.split(separator: "\n").reversed().prefix { !$0.hasPrefix("#EXTINF") }
                    .filter { $0.hasPrefix("#EXT-X-PART:") }.count
                let answers = try await Self.pipelined(
                    server,
                    ["/hls/live/llpipe/ll.m3u8?_HLS_msn=\(sequence)&_HLS_part=\(openParts)", "/hls/live/llpipe/index.m3u8", "/api/v1/streams"])
                try #require(answers.count == 3, "\(answers)")
                #expect(answers[0].status == 200 && answers[0].body.contains("#EXT-X-PART:"), "\(answers[0])")
                #expect(
                    answers[0].body.contains("-\(sequence).\(openParts).m4s\"") || answers[0].body.contains("-\(sequence + 1).0.m4s\""),
                    "the held reload lists the part it asked for: \(answers[0].body)")
                #expect(answers[1].status == 200 && answers[1].body.contains(".ts") && !answers[1].body.contains("#EXT-X-PART:"), "\(answers[1])")
                #expect(answers[2].status == 401 && answers[2].body.contains("\"error\""), "the router's answer comes third: \(answers[2])")
                // Behind a request the router answers, a blocking reload waits in the router instead, just as well.
                let now = String(decoding: try await server.fetch("/hls/live/llpipe/ll.m3u8").body, as: UTF8.self)
                let nextSequence = (mediaSequence(of: now) ?? 0) + entries(of: now).count
                let routed = try await Self.pipelined(server, ["/api/v1/streams", "/hls/live/llpipe/ll.m3u8?_HLS_msn=\(nextSequence)"])
                try #require(routed.count == 2, "\(routed)")
                #expect(routed[0].status == 401)
                #expect(routed[1].status == 200 && routed[1].body.contains("-\(nextSequence).0.m4s\""), "\(routed[1])")
                // Percent-encoded directives are the router's to decode: the reload is held there and answered the same.
                let encodedSequence = String(nextSequence).map { "%3\($0)" }.joined()
                let encoded = try await Self.pipelined(
                    server, ["/hls/live/llpipe/ll.m3u8?_HLS_msn=\(encodedSequence)&_HLS_part=%31", "/hls/live/llpipe/index.m3u8"])
                try #require(encoded.count == 2, "\(encoded)")
                #expect(
                    encoded[0].status == 200
                        && (encoded[0].body.contains("-\(nextSequence).1.m4s\"") || encoded[0].body.contains("-\(nextSequence + 1).0.m4s\"")),
                    "\(encoded[0])")
                #expect(encoded[1].status == 200 && encoded[1].body.contains("#EXTM3U"), "\(encoded[1])")

                // The publish (6 s) ends; the stream waits out its grace, so the next segment never comes.
                _ = try? await publish.value
                try await server.eventually(timeout: 20, "the low-latency rendition stops") {
                    let first = String(decoding: try await server.fetch("/hls/live/llpipe/ll.m3u8").body, as: UTF8.self)
                    try await Task.sleep(for: .seconds(1.5))
                    return first == String(decoding: try await server.fetch("/hls/live/llpipe/ll.m3u8").body, as: UTF8.self)
                }
                let last = String(decoding: try await server.fetch("/hls/live/llpipe/ll.m3u8").body, as: UTF8.self)
                #expect(!last.contains("#EXT-X-ENDLIST"), "still in grace: \(last)")
                let next = (mediaSequence(of: last) ?? 0) + entries(of: last).count
                let timedOut = try await Self.pipelined(server, ["/hls/live/llpipe/ll.m3u8?_HLS_msn=\(next)", "/hls/live/llpipe/index.m3u8"])
                try #require(timedOut.count == 2, "\(timedOut)")
                #expect(timedOut[0].status == 503, "\(timedOut[0])")
                #expect(timedOut[0].body.contains("did not come within three target durations") && timedOut[0].body.contains("\"status\":503"))
                #expect(timedOut[0].headers["content-type"]?.hasPrefix("application/json") == true)
                #expect(timedOut[0].headers["access-control-allow-origin"] == "*")
                #expect(timedOut[0].seconds >= 2.5, "held for three target durations first: \(timedOut[0].seconds) s")
                #expect(timedOut[1].status == 200 && timedOut[1].body.contains("#EXTM3U"), "\(timedOut[1])")
            }
        }

        /// GStreamer's `hlsdemux2` (inside `uridecodebin3`) reads ll.m3u8 as a plain HLS playlist of fMP4
        /// segments and gets the frames. It starts once three segments are listed, as a live player joining does:
        /// hlsdemux2 1.22 loses its place in any live playlist (index.m3u8 too) first loaded with a single segment.
        @Test func gstreamerReadsTheLowLatencyPlaylistAsPlainHLS() async throws {
            try await withServer { server in
                let publish = try await server.publishLive(StreamPath("live/llgst")!, loops: 3)
                defer { publish.cancel() }
                try await server.eventually(timeout: 30, "three whole segments") {
                    entries(of: try await Self.waitForLowLatencyPlaylist(server, "live/llgst")).count >= 3
                }
                let dir = try TemporaryDirectory()
                defer { dir.remove() }
                let file = dir.path + "/gst.mkv"
                _ = try await Tool("gst-launch-1.0").run([
                    "-q", "uridecodebin3", "uri=\(server.httpBase)/hls/live/llgst/ll.m3u8", "caps=video/x-h264", "name=d", "d.", "!", "queue", "!",
                    "h264parse", "!", "identity", "eos-after=60", "!", "matroskamux", "!", "filesink", "location=\(file)",
                ], timeout: 60)
                let packets = try await FFprobe.packets(of: file)
                #expect(packets.videoCount >= 55, "\(packets.videoCount) video frames through hlsdemux2")
                #expect(packets.firstVideo?.isKeyframe == true)
            }
        }
    
        /// With a steady frame rate a part is listed as soon as its last frame is in, not when the next frame proves
        /// it complete. Our publisher sends the video-only fixture (30 fps, a keyframe each second, so parts of six
        /// frames from 2 s on) and stops for 5 s after the frame at 2 567 ms, the last of the part [2.4 s, 2.6 s):
        /// in the middle of the pause, the newest listed part ends with that frame. Before, it waited for the next.
        @Test func aPartIsListedWithItsLastFrame() async throws {
            try await withServer { server in
                async let published = EncodersFromTheWildTests.publish(
                    Fixtures.path(Fixtures.videoOnly), to: "live/llpause", on: server, ["--pause-at", "2.6", "--pause-for", "5"])
                // The pause runs from 2.6 s to 7.6 s after the publish starts, which is some time after the launch:
                // look from 3 s to 7 s after the launch, every half second. Before 7 s nothing after the pause has
                // been sent, so without the early end the newest part would still end 200 ms short.
                struct Edge: Decodable {
                    struct Part: Decodable { var uri: String; var decodeTimes: [Int64] }
                    var parts: Int
                    var first: Int64?
                    var newest: Part
                }
                let launched = ContinuousClock.now
                try await Task.sleep(for: .seconds(3))
                var seen: [String] = []
                var found = false
                while !found && ContinuousClock.now - launched < .seconds(7) {
                    let edge = try await Tool("python3").run(
                        [Self.scripts.appendingPathComponent("ll_edge.py").path, "\(server.httpBase)/hls/live/llpause/ll.m3u8"], timeout: 30,
                        requireSuccess: false)
                    if let report = try? JSONDecoder().decode(Edge.self, from: Data(edge.text.utf8)), let first = report.first,
                        let last = report.newest.decodeTimes.last
                    {
                        seen.append("\(report.newest.uri): ends at \((last - first) / 90) ms, \(report.newest.decodeTimes.count) frames")
                        found = (last - first) / 90 == 2567 && report.newest.decodeTimes.count == 6
                    }
                    if !found { try await Task.sleep(for: .milliseconds(500)) }
                }
                #expect(found, "the newest part never ended with the frame at 2 567 ms during the pause: \(seen)")
                let result = try await published
                #expect(result.status == "NetStream.Publish.Start" && result.finished, "\(result)")
            }
        }

        /// A pin placed while the stream is live reaches the low-latency rendition as an `emsg` box (version 1,
        /// the AOM ID3 scheme) in the part holding its frame, read back by our ISO-BMFF walker and mutagen: its
        /// presentation time is that frame's composition time exactly, and ll.m3u8 lists its DATERANGE.
        @Test func aCueRidesInAnEventMessageOnItsFrame() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 2 }) { server in
                let publish = try await server.publishLive(StreamPath("live/llcue")!, loops: 2)
                defer { publish.cancel() }
                _ = try await Self.waitForLowLatencyPlaylist(server, "live/llcue")
                let url = "\(server.httpBase)/hls/live/llcue/ll.m3u8"
                async let read = Tool("python3").run([Self.scripts.appendingPathComponent("emsg_read.py").path, url, "--seconds", "6"], timeout: 60)
                try await Task.sleep(for: .seconds(1))
                let body = #"{"kind":"product.pin","payload":{"sku":"LL1","title":"Tea set","price":199,"currency":"CNY"}}"#
                let response = try await server.request(.POST, "/api/v1/streams/live/llcue/cues", body: body)
                #expect(response.status == 201, "\(response.body)")
                struct Placed: Decodable { var id: String; var pts: Int64 }
                let placed = try JSONDecoder().decode(Placed.self, from: Data(response.body.utf8))
                struct Read: Decodable {
                    struct Event: Decodable {
                        var version: Int
                        var scheme: String
                        var id: Int
                        var timescale: Int
                        var presentationTime: Int64
                        var duration: Int64
                        var text: String?
                        var onVideoSample: Bool
                        var topLevel: [String]
                    }
                    var events: [Event]
                    var parts: Int
                }
                let output = try await read
                let events = try JSONDecoder().decode(Read.self, from: Data(output.text.utf8)).events
                let event = try #require(events.first { $0.text?.contains(placed.id) == true }, "no emsg for \(placed.id): \(output.text.prefix(2000))")
                #expect(event.version == 1 && event.scheme == "https://aomedia.org/emsg/ID3" && event.timescale == 90000)
                #expect(event.onVideoSample, "presentation time \(event.presentationTime) is a video sample's composition time")
                // The same 90 kHz presentation time the API gave the cue (the TS rendition's clock).
                #expect(event.presentationTime == placed.pts)
                #expect(event.duration == 0xFFFF_FFFF, "a pin has no set duration")
                #expect(event.topLevel.first == "emsg" && event.topLevel.contains("moof"), "emsg comes first in its part: \(event.topLevel)")
                #expect(event.text?.contains("\"sku\":\"LL1\"") == true)
                #expect(events.filter { $0.text?.contains(placed.id) == true }.count == 1, "one event per cue")
                let playlist = try await server.request(.GET, "/hls/live/llcue/ll.m3u8").body
                #expect(playlist.contains("ID=\"\(placed.id)\""), "DATERANGE in ll.m3u8")
            }
        }

        /// What `hlsjs_play.py` prints.
        struct HlsjsReport: Decodable {
            struct Level: Decodable {
                var live: Bool
                var canBlockReload: Bool
                var canSkipUntil: Double
                var partTarget: Double
                var partHoldBack: Double
                var partCount: Int
            }
            struct Sample: Decodable {
                var pts: Double
                var type: String
                var texts: [String]
            }
            struct CueAnswer: Decodable {
                struct Body: Decodable { var id: String }
                var status: Int
                var body: Body
            }
            var version: String
            var supported: Bool
            var lowLatencyMode: Bool
            var parts: Int
            var fragments: Int
            var level: Level?
            var latencies: [Double]
            var played: Double
            var fatal: String?
            var errors: [String]
            var metadata: [Sample]
            var cue: CueAnswer?
            var positionAtCue: Double?
            var currentTime: Double
        }

        /// hls.js 1.6 in Chromium, in low-latency mode: it reads the server control (blocking reload, skips, part
        /// target), loads parts rather than whole segments, plays near the live edge, and hands the page the pin
        /// placed while it plays as one `emsg` ID3 sample (read back with mutagen), on its timeline at the live
        /// edge of the moment the pin was placed, and played through.
        @Test func hlsjsPlaysInLowLatencyModeAndReadsTheCue() async throws {
            let hlsjs = Fixtures.directory.deletingLastPathComponent().appendingPathComponent(".build/hlsjs/hls.js").path
            try #require(
                FileManager.default.fileExists(atPath: hlsjs),
                "no hls.js at \(hlsjs): scripts/test fetches it (ensure_hlsjs in scripts/lib/common.sh)")
            try await withServer { server in
                let publish = try await server.publishLive(StreamPath("live/hlsjs")!, loops: 5)
                defer { publish.cancel() }
                _ = try await Self.waitForLowLatencyPlaylist(server, "live/hlsjs")
                let body = #"{"kind":"product.pin","payload":{"sku":"HJ1","title":"Tea set","price":199,"currency":"CNY"}}"#
                let output = try await Tool("python3").run([
                    Self.scripts.appendingPathComponent("hlsjs_play.py").path, "\(server.httpBase)/hls/live/hlsjs/ll.m3u8", hlsjs,
                    "--seconds", "8", "--timeout", "60", "--cue-url", "\(server.httpBase)/api/v1/streams/live/hlsjs/cues",
                    "--cue-token", server.server.adminToken, "--cue-body", body,
                ], timeout: 120, requireSuccess: false)
                #expect(output.status == 0, "hls.js: \(output.text.prefix(3000)) \(output.stderr.suffix(2000))")
                let report = try JSONDecoder().decode(HlsjsReport.self, from: Data(output.text.utf8))
                #expect(report.version.hasPrefix("1.6.") && report.supported && report.lowLatencyMode, "\(report)")
                #expect(report.fatal == nil && report.played >= 8, "\(report)")
                let level = try #require(report.level, "no playlist loaded: \(report)")
                #expect(level.live && level.canBlockReload && level.partCount > 0, "\(level)")
                #expect(level.partTarget > 0 && level.partTarget <= 1 && level.canSkipUntil > 0, "\(level)")
                // Parts, not segments: 8 s of playback at ~0.2 s parts is ~40 of them.
                #expect(report.parts >= 10, "\(report.parts) parts, \(report.fragments) whole segments")
                // hls.js's own estimate of its distance behind the live edge; the TS playlist sits 6 s or more back.
                let latencies = report.latencies.sorted()
                let median = latencies.isEmpty ? .infinity : latencies[latencies.count / 2]
                #expect(median < 3, "median latency \(median) s: \(report.latencies) errors \(report.errors)")
                let cue = try #require(report.cue, "no cue placed: \(report)")
                #expect(cue.status == 201)
                let samples = report.metadata.filter { $0.texts.contains { $0.contains(cue.body.id) } }
                #expect(samples.count == 1, "hls.js surfaced \(samples.count) samples for \(cue.body.id): \(report.metadata)")
                let at = try #require(report.positionAtCue)
                for sample in samples {
                    #expect(sample.type == "https://aomedia.org/emsg/ID3" && sample.texts.contains { $0.contains("\"sku\":\"HJ1\"") }, "\(sample)")
                    // Bound to the frame at the live edge when it was placed: ahead of the picture then by about
                    // the latency, and played through by the end.
                    #expect(sample.pts > at && sample.pts < at + 3 && sample.pts < report.currentTime, "at \(at): \(sample)")
                }
            }
        }

        /// Behind a real nginx `proxy_cache` (with `proxy_cache_lock`, the query string in the key, as a CDN keeps
        /// it): the LL-HLS client's blocking reloads through the cache each return the part they asked for, never
        /// a stale copy, and every frame still arrives once.
        @Test func blockingReloadsThroughAnNginxCacheGetTheNewPart() async throws {
            try await withServer(configure: { $0.hls.gracePeriod = 2 }) { server in
                let publish = try await server.publishLive(StreamPath("live/llcdn")!, loops: 3)
                defer { publish.cancel() }
                _ = try await Self.waitForLowLatencyPlaylist(server, "live/llcdn")
                let port = try await Nginx.freePort()
                let nginx = try Nginx.start("""
                    events {}
                    http {
                        access_log off;
                        \(Nginx.httpTemporaryPaths)
                        proxy_cache_path <dir>/cache keys_zone=ll:1m;
                        server {
                            listen 127.0.0.1:\(port);
                            location /hls/ {
                                proxy_pass http://127.0.0.1:\(server.httpPort);
                                proxy_http_version 1.1;
                                proxy_cache ll;
                                proxy_cache_lock on;
                                proxy_cache_key $scheme$proxy_host$request_uri;
                                proxy_read_timeout 20s;
                            }
                        }
                    }
                    """)
                defer { nginx.stop() }
                try await server.eventually("nginx to answer") {
                    (try? await Tool("curl").run(["-sf", "-o", "/dev/null", "http://127.0.0.1:\(port)/hls/live/llcdn/ll.m3u8"], timeout: 5))?.status == 0
                }
                let url = "http://127.0.0.1:\(port)/hls/live/llcdn/ll.m3u8"
                let followed = try await Tool("python3").run(
                    [Self.scripts.appendingPathComponent("llhls_client.py").path, url, "--seconds", "8"], timeout: 60, requireSuccess: false)
                let report = try JSONDecoder().decode(ClientReport.self, from: Data(followed.text.utf8))
                #expect(followed.status == 0 && report.errors.isEmpty, "client through nginx: \(report.errors)")
                #expect(report.parts >= 30 && report.blocking_reloads > 10, "\(report.parts) parts, \(report.blocking_reloads) blocking reloads")
                let cached = try FileManager.default.subpathsOfDirectory(atPath: nginx.directory.path + "/cache").count
                #expect(cached > 0, "nginx cached what it served")
            }
        }

        /// A delta update (`_HLS_skip=YES`) of a playlist longer than the skip boundary leaves out the oldest
        /// segments behind `EXT-X-SKIP`, and the rule checker's reading of the full playlist still holds.
        @Test func deltaUpdatesLeaveOutTheOldestSegments() async throws {
            try await withServer(configure: {
                $0.hls.segmentDuration = 1
                $0.hls.windowSize = 10
                $0.hls.gracePeriod = 2
            }) { server in
                let publish = try await server.publishLive(StreamPath("live/lldelta")!, loops: 3)
                defer { publish.cancel() }
                try await server.eventually(timeout: 40, "ten whole segments") {
                    entries(of: try await Self.waitForLowLatencyPlaylist(server, "live/lldelta")).count >= 10
                }
                let full = try await server.request(.GET, "/hls/live/lldelta/ll.m3u8").body
                #expect(full.contains("CAN-SKIP-UNTIL=6,CAN-SKIP-DATERANGES=YES"), "\(full)")
                let delta = try await server.request(.GET, "/hls/live/lldelta/ll.m3u8?_HLS_skip=YES").body
                let skipped = try #require(delta.split(separator: "\n").first { $0.hasPrefix("#EXT-X-SKIP:SKIPPED-SEGMENTS=") })
                let count = Int(skipped.split(separator: "=")[1]) ?? 0
                // 10 segments of 1 s, boundary 6 s: the oldest 4 (give or take one that slid in meanwhile).
                #expect(count >= 3 && count <= 5, "\(skipped)")
                #expect(delta.contains("#EXT-X-VERSION:9"))
                #expect(entries(of: delta).count == entries(of: full).count - count || entries(of: delta).count == entries(of: full).count - count + 1)
                #expect(delta.contains("#EXT-X-MAP:URI="), "the first segment kept carries its map")
                let v2 = try await server.request(.GET, "/hls/live/lldelta/ll.m3u8?_HLS_skip=v2").body
                #expect(v2.contains(",RECENTLY-REMOVED-DATERANGES=\""), "a v2 delta names removed date ranges (none here): \(v2)")
            }
        }
}
}

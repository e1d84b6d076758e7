import Foundation
import Media
import StreamHub
import Testing
import TestSupport

/// RTMP play read by `scripts/testing/rtmp_play.py`, an RTMP client that shares no code with the server, where
/// ffmpeg cannot show what is checked (ffmpeg ends a play at `UnpublishNotify` and hides script data).
@Suite struct RTMPPlayTests {
    static let client = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/rtmp_play.py").path

    struct Play: Decodable {
        struct Status: Decodable { var code: String; var description: String? }
        struct Data: Decodable { var name: String; var timestamp: Int64 }
        struct Video: Decodable {
            var count: Int
            var frames: [[JSONScalar]]
        }
        var statuses: [Status]
        var data: [Data]
        var video: Video
        var closed: Bool
        var error: String?

        /// (timestamp, keyframe, AVC packet type, cts) of each video message kept.
        var frames: [(timestamp: Int64, keyframe: Bool, packetType: Int?, cts: Int64?)] {
            video.frames.map { ($0[0].int ?? -1, $0[1].bool ?? false, $0[2].int.map(Int.init), $0[3].int) }
        }
    }

    enum JSONScalar: Decodable {
        case number(Double), bool(Bool), null
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let b = try? container.decode(Bool.self) { self = .bool(b) }
            else { self = .number(try container.decode(Double.self)) }
        }
        var int: Int64? { if case .number(let n) = self { Int64(n) } else { nil } }
        var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    }

    static func play(_ url: String, seconds: Double) async throws -> (Play, [[String: Any]]) {
        let output = try await Tool("python3").run([client, url, "--seconds", String(seconds)], timeout: seconds + 30)
        let play = try JSONDecoder().decode(Play.self, from: Data(output.text.utf8))
        let raw = try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any]
        return (play, raw?["data"] as? [[String: Any]] ?? [])
    }

    /// The publisher leaves and comes back: the player is told (`UnpublishNotify`, then `PublishNotify`) and the
    /// same play goes on with the new publish, starting again at its sequence header and a keyframe.
    @Test func aPlayGoesOnAcrossARepublish() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 30 }) { server in
            let path = StreamPath("live/again")!
            let secret = try await server.server.keys.add(stream: path.description)
            let first = ffmpegPublishLooping("\(server.rtmpBase)/live/\(secret)", loops: 0)
            try await server.eventually("stream live") { server.server.hub.stream(path) != nil }
            async let playing = Self.play("\(server.rtmpBase)/live/again", seconds: 12)
            _ = try await first.value
            try await server.eventually("publish over") { server.server.hub.stream(path) == nil }
            let second = ffmpegPublishLooping("\(server.rtmpBase)/live/\(secret)", loops: 0)
            let (play, _) = try await playing
            second.cancel()
            let codes = play.statuses.map(\.code)
            #expect(
                codes.prefix(4) == ["NetStream.Play.Reset", "NetStream.Play.Start", "NetStream.Play.UnpublishNotify", "NetStream.Play.PublishNotify"],
                "\(codes)")
            #expect(play.error == nil && !play.closed, "the play stayed open: \(play.error ?? "")")
            #expect(play.data.first?.name == "|RtmpSampleAccess")
            #expect(play.data.filter { $0.name == "onMetaData" }.count == 2, "metadata for each publish")
            // The second publish's clock starts again near 0: the first message after the drop is its sequence header, then a keyframe.
            let frames = play.frames
            let restart = try #require(frames.indices.dropFirst().first { frames[$0].timestamp + 1000 < frames[$0 - 1].timestamp }, "timestamps restart") - 1
            let after = Array(frames[(restart + 1)...].prefix(2))
            #expect(after.first?.packetType == 0, "sequence header first: \(after)")
            #expect(after.last?.keyframe == true && after.last?.packetType == 1, "then a keyframe: \(after)")
            #expect(frames.count - restart > 60, "media of the second publish")
            #expect(server.logs.contains("publisher back; play continues"))
        }
    }

    /// A pin reaches an RTMP player as `onCuePoint`, stamped with the bound frame's time.
    @Test func cuesReachRTMPPlayersAsOnCuePoint() async throws {
        try await withServer { server in
            let path = StreamPath("live/rtmpcue")!
            let publish = try await server.publishLive(path, loops: 0)
            async let playing = Self.play("\(server.rtmpBase)/live/rtmpcue", seconds: 8)
            // The cue goes in once the reader is attached (a reader that joins later gets no past cue).
            try await server.eventually("readers attached") { server.server.hub.stream(path)?.viewers.load(ordering: .relaxed) ?? 0 >= 1 }
            try await Task.sleep(for: .seconds(0.5))
            let answer = try await server.request(
                .POST, "/api/v1/streams/live/rtmpcue/cues",
                body: #"{"id":"rtmp-pin","kind":"product.pin","payload":{"sku":"B2","title":"Teapot","price":59,"currency":"CNY"}}"#)
            #expect(answer.status == 201, "\(answer.body)")
            let pts = try #require((try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["pts"] as? Int)
            let (play, data) = try await playing
            _ = try? await publish.value
            let index = try #require(play.data.firstIndex { $0.name == "onCuePoint" }, "\(play.data.map(\.name))")
            let frameTime = Int64((pts - 900_000) / 90)
            #expect(play.data[index].timestamp == frameTime)
            #expect(play.frames.contains { $0.timestamp + ($0.cts ?? 0) == frameTime }, "a frame is shown at that time")
            let value = data[index]["value"] as? [String: Any]
            #expect(value?["name"] as? String == "product.pin")
            #expect((value?["parameters"] as? [String: Any])?["id"] as? String == "rtmp-pin")
        }
    }

    /// 1 000 RTMP players and 1 000 HTTP-FLV viewers connect, get media and vanish, twice: after the second crowd
    /// the server's sockets and memory come back to where the first left them (a leak grows with each crowd), and
    /// the publish goes on. In a server process of its own, so nothing else in the test run moves the figures.
    @Test func aThousandReadersThatVanishLeakNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (server, secret, logPath) = try await OpenFilesTests().start(keyFor: "live/crowd", in: dir)
        defer {
            server.process.terminate()
            server.process.waitForExit()
        }
        let publisher = try server.publish("live/crowd", key: secret, loops: -1)
        defer { if publisher.isAlive { publisher.terminate() } }
        _ = try await server.firstSegments(of: "live/crowd")
        let pid = server.process.processIdentifier
        // Sockets only: segment files come and go with the stream.
        func sockets() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").filter {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)"))?.hasPrefix("socket:") == true
            }.count
        }
        func rss() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return (Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") ?? 0) * 1024
        }
        // The heap in use (mallinfo2, through /metrics) is what a leak grows; RSS also keeps the pages a crowd's
        // freed buffers leave behind, which moved it by 17 MB in one CI run with no leak at all.
        func heap() async throws -> Int {
            let metrics = try await server.curl(["\(server.base)/metrics"])
            let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("cuecast_process_heap_bytes ") })
            return Int(try #require(Double(line.split(separator: " ")[1])))
        }
        func crowd() async throws {
            let rtmp = try await Tool("python3").run([Self.client, "rtmp://127.0.0.1:\(server.rtmp)/live/crowd", "--connections", "1000", "--seconds", "30"], timeout: 120)
            let flv = try await Tool("python3").run(
                [PlaybackTests.flvReader, "\(server.base)/live/crowd.flv", "--connections", "1000", "--seconds", "30"], timeout: 120)
            let rtmpResult = try #require(try JSONSerialization.jsonObject(with: Data(rtmp.text.utf8)) as? [String: Any])
            let flvResult = try #require(try JSONSerialization.jsonObject(with: Data(flv.text.utf8)) as? [String: Any])
            #expect(rtmpResult["gotVideo"] as? Int == 1000, "\(rtmpResult)")
            #expect(flvResult["gotData"] as? Int == 1000, "\(flvResult)")
        }
        let idleSockets = try sockets()
        // A first crowd warms the allocator and NIO's pools; the second must leave the server where the first did.
        try await crowd()
        try await Task.sleep(for: .seconds(2))
        let (baseSockets, baseRSS, baseHeap) = (try sockets(), try rss(), try await heap())
        #expect(baseSockets <= idleSockets + 2, "sockets: \(idleSockets) idle, \(baseSockets) after the first crowd")
        try await crowd()
        // The leak this guards against (a channel per reader) kept about 16 KB per reader, 32 MB a crowd; the
        // heap moves by a few MB with the stream's own buffers (its GOP, segments being written), so the bound
        // sits well between the two. RSS gets a bound only for what the heap cannot see (mappings).
        let (slack, rssSlack) = (8 << 20, 48 << 20)
        var (open, memory, inUse) = (0, 0, 0)
        let deadline = Date().addingTimeInterval(20)
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            (open, memory, inUse) = (try sockets(), try rss(), try await heap())
        } while (open > baseSockets || inUse > baseHeap + slack) && Date() < deadline
        #expect(open <= baseSockets, "sockets: \(baseSockets) before, \(open) after")
        #expect(inUse <= baseHeap + slack, "heap: \(baseHeap >> 20) MB before, \(inUse >> 20) MB after")
        #expect(memory <= baseRSS + rssSlack, "RSS: \(baseRSS >> 20) MB before, \(memory >> 20) MB after")
        #expect(try await server.curl(["\(server.base)/api/v1/streams/live/crowd"]).contains("\"viewers\":0"))
        #expect(publisher.isAlive, "the publish went on")
        _ = logPath
        print(
            "1000-reader leak check: sockets \(idleSockets) idle, \(baseSockets) → \(open); heap \(baseHeap >> 20) → \(inUse >> 20) MB; "
                + "RSS \(baseRSS >> 20) → \(memory >> 20) MB")
    }
}

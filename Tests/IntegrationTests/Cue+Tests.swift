import AsyncHTTPClient
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

/// Cues read back by tools that are not ours: ffprobe (packet PTS), Python mutagen (the ID3 tag), Python m3u8
/// (the DATERANGE), and an SSE client.
@Suite struct CueTests {
    struct Placed: Decodable {
        var id: String
        var kind: String
        var pts: Int64
        var programDateTime: String
        var sequence: Int64
    }

    static let pin = #"{"kind":"product.pin","payload":{"sku":"A1","title":"Tea set","price":199,"currency":"CNY"}}"#

    @Test func pinLandsOnTheNextFrameInEveryChannel() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/cue")
            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/cue?key=\(secret)")
            try await server.eventually("first segment") { try await server.fetch("/hls/live/cue/index.m3u8").status == 200 }

            // Event feed first, so the cue must arrive live on it.
            let feed = Task { try await Self.readEvents(server, "/api/v1/streams/live/cue/events", count: 1) }
            try await Task.sleep(for: .milliseconds(200))
            let posted = ContinuousClock.now
            let response = try await server.request(.POST, "/api/v1/streams/live/cue/cues", body: Self.pin)
            #expect(response.status == 201, "\(response.body)")
            let placed = try JSONDecoder().decode(Placed.self, from: Data(response.body.utf8))
            try await server.eventually("DATERANGE in the playlist") {
                try await server.request(.GET, "/hls/live/cue/index.m3u8").body.contains("ID=\"\(placed.id)\"")
            }
            let latency = ContinuousClock.now - posted
            #expect(latency < .seconds(4), "a cue is listed when its segment is: within a segment duration or so")
            let events = try await feed.value
            #expect(events.first?.contains("\"id\":\"\(placed.id)\"") == true)
            #expect(events.first?.contains("\"pts\":\(placed.pts)") == true)
            _ = try await publish

            var playlist = ""
            try await server.eventually("playlist to end") {
                playlist = try await server.request(.GET, "/hls/live/cue/index.m3u8").body
                return playlist.contains("#EXT-X-ENDLIST")
            }
            // Python's m3u8 reads the DATERANGE.
            let ranges = try await Self.dateRanges(playlist)
            let range = try #require(ranges.first { $0["id"] as? String == placed.id })
            #expect(range["class"] as? String == "com.cuecast.product.pin")
            #expect(range["end_on_next"] as? String == "YES")
            #expect(range["start_date"] as? String == placed.programDateTime)
            let encoded = try #require(range["payload"] as? String)
            let json = String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
            #expect(json.contains("\"sku\":\"A1\"") && json.contains("\"pts\":\(placed.pts)"))

            // The segment whose time range holds the cue carries the ID3 tag at the bound frame's PTS.
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let (uri, segmentDate) = try #require(Self.segment(containing: placed.programDateTime, in: playlist))
            let packets = try await probeSegment(server, stream: "live/cue", uri: uri, into: dir)
            let probe = try await Tool("ffprobe").run(["-v", "error", "-show_entries", "packet=codec_type,pts", "-of", "csv=p=0", "\(dir.path)/\(uri)"]).text
            // ffprobe's csv ends lines with a comma for the (empty) side data column.
            let lines = probe.split(separator: "\n").map { $0.split(separator: ",").prefix(2).joined(separator: ",") }
            #expect(lines.contains("data,\(placed.pts)"), "ID3 packet at the cue's PTS")
            #expect(lines.contains("video,\(placed.pts)"), "a video frame at the cue's PTS in the same segment")
            let id3 = try await Tool("python3").run([Self.script("id3_from_ts.py"), "\(dir.path)/\(uri)"]).stdout
            let tags = try #require(try JSONSerialization.jsonObject(with: id3) as? [[String: Any]])
            #expect(tags.count == 1)
            #expect((tags.first?["pts"] as? NSNumber)?.int64Value == placed.pts)
            let frame = try #require((tags.first?["frames"] as? [[String: Any]])?.first)
            #expect(frame["id"] as? String == "TXXX")
            #expect(frame["desc"] as? String == "cuecast")
            #expect((frame["text"] as? String)?.contains("\"id\":\"\(placed.id)\"") == true)
            // START-DATE is the frame's program date time: the segment's plus the frame's offset in it.
            let firstPTS = try #require(packets.firstVideo?.ptsMilliseconds)
            let expected = segmentDate.addingTimeInterval(Double(placed.pts / 90 - firstPTS) / 1000)
            #expect(abs(try #require(Self.parseDate(placed.programDateTime)).timeIntervalSince(expected)) <= 0.0015)

            // The log and the state have it.
            #expect(try await server.request(.GET, "/api/v1/streams/live/cue/cues").body.contains(placed.id))
            let state = try await server.request(.GET, "/api/v1/streams/live/cue/state", token: .some(nil))
            #expect(state.status == 200)
            #expect(state.body.contains("\"pinnedProduct\":{") && state.body.contains(placed.id))
            // A reconnecting client resumes after the last event it saw and gets nothing twice.
            let resumed = try await Self.readEvents(server, "/api/v1/streams/live/cue/events", lastEventID: placed.sequence, count: 0, wait: 1)
            #expect(!resumed.contains { $0.contains(placed.id) })
            let replay = try await Self.readEvents(server, "/api/v1/streams/live/cue/events", lastEventID: placed.sequence - 1, count: 1)
            #expect(replay.first?.contains(placed.id) == true)
        }
    }

    @Test func errorsSayWhatIsWrong() async throws {
        try await withServer(configure: {
            $0.cues.ratePerSecond = 0.5
            $0.cues.burst = 2
            $0.cues.maxPayloadBytes = 256
        }) { server in
            _ = try await server.server.keys.add(stream: "live/idle")
            let secret = try await server.server.keys.add(stream: "live/err")
            let cues = "/api/v1/streams/live/err/cues"
            #expect(try await server.request(.POST, cues, token: .some(nil), body: Self.pin).status == 401)
            #expect(try await server.request(.POST, "/api/v1/streams/live/nope/cues", body: Self.pin).status == 404)
            let idle = try await server.request(.POST, "/api/v1/streams/live/idle/cues", body: Self.pin)
            #expect(idle.status == 409)
            #expect(idle.body.contains("not live"))

            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/err?key=\(secret)")
            try await server.eventually("stream live") { server.server.hub.stream(StreamPath("live/err")!) != nil }
            let badJSON = try await server.request(.POST, cues, body: "{oops")
            #expect(badJSON.status == 400)
            #expect(badJSON.body.contains("not valid JSON"))
            let badKind = try await server.request(.POST, cues, body: #"{"kind":"flash","payload":{}}"#)
            #expect(badKind.status == 400)
            #expect(badKind.body.contains(#""field":"kind""#))
            let missing = try await server.request(.POST, cues, body: #"{"kind":"product.pin","payload":{"sku":"A1"}}"#)
            #expect(missing.body.contains(#""field":"payload.title""#))
            let big = try await server.request(.POST, cues, body: #"{"kind":"custom","payload":{"t":"\#(String(repeating: "x", count: 300))"}}"#)
            #expect(big.status == 413)

            let first = try await server.request(.POST, cues, body: #"{"id":"same-1","kind":"announcement","payload":{"text":"hi"}}"#)
            #expect(first.status == 201)
            let repeated = try await server.request(.POST, cues, body: #"{"id":"same-1","kind":"announcement","payload":{"text":"hi"}}"#)
            #expect(repeated.status == 200)
            #expect(repeated.body == first.body, "a repeated id returns the cue placed the first time")
            _ = try await server.request(.POST, cues, body: #"{"kind":"announcement","payload":{"text":"two"}}"#)
            let limited = try await server.request(.POST, cues, body: #"{"kind":"announcement","payload":{"text":"three"}}"#)
            #expect(limited.status == 429)
            #expect(Int(limited.headers["Retry-After"].first ?? "") ?? 0 >= 1)
            _ = try await publish
        }
    }

    // MARK: Helpers

    static func script(_ name: String) -> String {
        Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/\(name)").path
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// The segment whose [PDT, PDT + EXTINF) holds `date`, and its PDT.
    static func segment(containing dateText: String, in playlist: String) -> (String, Date)? {
        guard let date = parseDate(dateText) else { return nil }
        var pdt: Date?
        var duration = 0.0
        for line in playlist.split(separator: "\n").map(String.init) {
            if line.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") {
                pdt = parseDate(String(line.dropFirst(25)))
            } else if line.hasPrefix("#EXTINF:") {
                duration = Double(line.dropFirst(8).split(separator: ",").first ?? "") ?? 0
            } else if !line.hasPrefix("#"), let start = pdt, date >= start, date < start.addingTimeInterval(duration) {
                return (line, start)
            }
        }
        return nil
    }

    /// DATERANGE tags as Python's m3u8 parser reads them.
    static func dateRanges(_ playlist: String) async throws -> [[String: Any]] {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/index.m3u8"
        try Data(playlist.utf8).write(to: URL(fileURLWithPath: path))
        let code = """
            import json, sys, m3u8
            p = m3u8.load(sys.argv[1])
            print(json.dumps([{"id": d.id, "class": d.class_, "start_date": d.start_date, "end_on_next": d.end_on_next,
                               "duration": d.duration, "payload": d.x_client_attrs[0][1].strip('"') if d.x_client_attrs else None}
                              for s in p.segments for d in s.dateranges]))
            """
        let output = try await Tool("python3").run(["-c", code, path])
        return try JSONSerialization.jsonObject(with: output.stdout) as? [[String: Any]] ?? []
    }

    /// Reads `count` events (their `data:` lines) from a server-sent event stream, or what came within `wait` s.
    static func readEvents(_ server: TestServer, _ path: String, lastEventID: Int64? = nil, count: Int, wait: Double = 20) async throws -> [String] {
        var request = HTTPClientRequest(url: server.httpBase + path)
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(wait) + 5))
        #expect(response.headers["Content-Type"].first == "text/event-stream")
        return try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                var events: [String] = []
                var text = ""
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    events = text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }
                    if count > 0 && events.count >= count { break }
                }
                return events
            }
            group.addTask {
                try await Task.sleep(for: .seconds(wait))
                return []
            }
            let first = try await group.next() ?? []
            group.cancelAll()
            return first
        }
    }
}

@Suite struct ScheduledCueTests {
    static func formatDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Where the open (not yet listed) segment starts: the end of the last listed one.
    static func openSegmentStart(_ playlist: String) -> Date? {
        var pdt: Date?
        var duration = 0.0
        for line in playlist.split(separator: "\n") {
            if line.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") { pdt = CueTests.parseDate(String(line.dropFirst(25))) }
            if line.hasPrefix("#EXTINF:") { duration = Double(line.dropFirst(8).split(separator: ",").first ?? "") ?? 0 }
        }
        return pdt?.addingTimeInterval(duration)
    }

    @Test func instantsInTheOpenSegmentAndAhead() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/at")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/at?key=\(secret)", loops: 4)
            defer { publish.cancel() }
            let cues = "/api/v1/streams/live/at/cues"
            try await server.eventually("two segments") { entries(of: try await server.request(.GET, "/hls/live/at/index.m3u8").body).count >= 2 }

            // In a segment already listed: refused, its bytes are published.
            let playlist = try await server.request(.GET, "/hls/live/at/index.m3u8").body
            let open = try #require(Self.openSegmentStart(playlist))
            let published = try await server.request(.POST, cues, body: #"{"kind":"announcement","payload":{"text":"late"},"at":"\#(Self.formatDate(open.addingTimeInterval(-1)))"}"#)
            #expect(published.status == 409, "\(published.body)")
            #expect(published.body.contains("already published"))

            // In the open segment: bound to the first frame at or after it, although that frame was already sent.
            var accepted: CueTests.Placed?
            var answers: [String] = []
            // Under a loaded test run a request can take long enough for the open segment to close meanwhile
            // (the answer is then a 409, correctly): the attempt is made again on the next open segment.
            for _ in 0..<6 where accepted == nil {
                let text = try await server.request(.GET, "/hls/live/at/index.m3u8").body
                guard let start = Self.openSegmentStart(text) else { continue }
                let instant = start.addingTimeInterval(0.2)
                while Date() < instant.addingTimeInterval(0.3) { try await Task.sleep(for: .milliseconds(50)) }
                let response = try await server.request(.POST, cues, body: #"{"kind":"announcement","payload":{"text":"past"},"at":"\#(Self.formatDate(instant))"}"#)
                answers.append("\(response.status) \(response.body.prefix(120))")
                if response.status == 201 {
                    accepted = try JSONDecoder().decode(CueTests.Placed.self, from: Data(response.body.utf8))
                    let bound = try #require(CueTests.parseDate(accepted!.programDateTime))
                    #expect(bound >= instant.addingTimeInterval(-0.001) && bound < instant.addingTimeInterval(0.05), "\(accepted!.programDateTime)")
                }
            }
            #expect(accepted != nil, "a cue at an instant of the open segment was placed: \(answers)")
            if let accepted {
                try await server.eventually("its DATERANGE listed") {
                    try await server.request(.GET, "/hls/live/at/index.m3u8").body.contains("ID=\"\(accepted.id)\"")
                }
            }

            // Ahead (cues go in time order, so after the others): bound to the first frame at or after the instant.
            let ahead = Date().addingTimeInterval(1.5)
            let scheduled = try await server.request(.POST, cues, body: #"{"kind":"announcement","payload":{"text":"soon"},"at":"\#(Self.formatDate(ahead))"}"#)
            #expect(scheduled.status == 201, "\(scheduled.body)")
            let placed = try JSONDecoder().decode(CueTests.Placed.self, from: Data(scheduled.body.utf8))
            let date = try #require(CueTests.parseDate(placed.programDateTime))
            #expect(date >= ahead.addingTimeInterval(-0.001) && date < ahead.addingTimeInterval(0.1), "\(placed.programDateTime)")

        }
    }
}

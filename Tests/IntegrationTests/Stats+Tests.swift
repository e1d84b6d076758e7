import AsyncHTTPClient
import Foundation
import Media
import NIOCore
import NIOPosix
import StreamHub
import Testing
import TestSupport

/// Measured statistics against a fixture whose rates are known: 30 fps, a keyframe every second, ~300 kbit/s
/// H.264 and 64 kbit/s AAC.
@Suite struct StatsTests {
    struct View: Decodable {
        var stream: String
        var statistics: StreamStatistics
        var warnings: [String]
    }

    @Test func measuredRatesMatchTheFixture() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        let fixtureBytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(Fixtures.bframes))).count
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/stats")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/stats?key=\(secret)", loops: 1)
            defer { publish.cancel() }
            // Let the 10 s window fill with at least 5 s of media.
            try await server.eventually(timeout: 30, "five seconds of samples") {
                server.server.hub.stream(StreamPath("live/stats")!).map { $0.snapshot().uptimeSeconds >= 6 } ?? false
            }
            let body = try await server.request(.GET, "/api/v1/streams/live/stats").body
            let decoder = JSONDecoder()
            let view = try decoder.decode(View.self, from: Data(body.utf8))
            let rates = view.statistics.rates
            let expectedFPS = Double(facts.video.count) / 6
            #expect(abs((rates.frameRate ?? 0) - expectedFPS) <= 2, "measured \(rates.frameRate ?? -1) fps")
            let mediaBitrate = Double(fixtureBytes * 8) / 6
            let total = (rates.videoBitsPerSecond10s ?? 0) + (rates.audioBitsPerSecond10s ?? 0)
            #expect(total > mediaBitrate * 0.6 && total < mediaBitrate * 1.4, "measured \(total) bit/s for a ~\(mediaBitrate) bit/s file")
            #expect(abs((rates.audioBitsPerSecond10s ?? 0) - 64_000) < 20_000, "AAC at 64 kbit/s, measured \(rates.audioBitsPerSecond10s ?? -1)")
            #expect(rates.videoBitsPerSecond1s != nil)
            #expect(abs((view.statistics.keyframeIntervalMean ?? 0) - 1) < 0.05)
            #expect(abs((view.statistics.keyframeIntervalMax ?? 0) - 1) < 0.05)
            #expect(abs(view.statistics.avDrift ?? 9) < 0.3)
            #expect(view.warnings.isEmpty, "\(view.warnings)")

            // The live feed: a start event and a snapshot a second with the stream in it.
            var request = HTTPClientRequest(url: server.httpBase + "/api/v1/stats/live")
            request.headers.add(name: "Authorization", value: "Bearer \(server.server.adminToken)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            var text = ""
            let started = ContinuousClock.now
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if text.components(separatedBy: "event: stats").count > 2 { break }
                if ContinuousClock.now - started > .seconds(8) { break }
            }
            #expect(text.contains("event: stream-start\ndata: {\"stream\":\"live/stats\"}"))
            #expect(text.components(separatedBy: "event: stats").count > 2, "two snapshots")
            #expect(text.contains("\"rtmpConnections\":1"))
            #expect(ContinuousClock.now - started < .seconds(4), "snapshots come every second")
            let unauthorized = try await server.request(.GET, "/api/v1/stats/live", token: .some(nil))
            #expect(unauthorized.status == 401)
        }
    }
}

@Suite struct MetricsTests {
    /// `name{labels} value` lines of a Prometheus exposition, for one metric name.
    static func samples(_ text: String, _ name: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            if let value = Double(parts.last ?? "") { out[String(parts.dropLast().joined(separator: " "))] = value }
        }
        return out
    }

    @Test func prometheusSeriesFollowTheStreamAndGoAwayAfterRetention() async throws {
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.hls.retention = 1
        }) { server in
            let secret = try await server.server.keys.add(stream: "live/prom")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/prom?key=\(secret)", loops: 0)
            try await server.eventually("a few seconds of media") {
                server.server.hub.stream(StreamPath("live/prom")!).map { $0.snapshot().uptimeSeconds >= 3.5 } ?? false
            }
            let response = try await server.fetch("/metrics")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(text.contains("# TYPE cuecast_stream_ingest_bits_per_second gauge"))
            let fps = Self.samples(text, "cuecast_stream_frames_per_second")[#"cuecast_stream_frames_per_second{app="live",stream="prom"}"#]
            // Frames received per second: ffmpeg's real-time pace slips a few frames while the rest of the suite
            // loads both cores, so 20 % either way; a wrong rate (0, half, double) is still caught.
            #expect(abs((fps ?? 0) - 30) <= 6, "\(fps ?? -1)")
            let video = Self.samples(text, "cuecast_stream_ingest_bits_per_second")[#"cuecast_stream_ingest_bits_per_second{app="live",stream="prom",track="video"}"#]
            #expect((video ?? 0) > 100_000 && (video ?? 0) < 1_000_000, "\(video ?? -1)")
            #expect(Self.samples(text, "cuecast_rtmp_connections").values.first == 1)
            #expect(Self.samples(text, "cuecast_stream_media_sequence")[#"cuecast_stream_media_sequence{app="live",stream="prom"}"#] != nil)
            _ = try await publish.value

            try await server.eventually("series removed after retention") {
                !String(decoding: try await server.fetch("/metrics").body, as: UTF8.self).contains(#"stream="prom""#)
            }
        }
    }
}

@Suite struct DeliveryStatsTests {
    /// Requests, bytes out, cues by kind and open HTTP connections, in the API and in /metrics.
    @Test func deliveryCuesAndConnectionsAreCounted() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/count")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/count?key=\(secret)", loops: 3)
            defer { publish.cancel() }
            try await server.eventually("a segment listed") {
                (try? await server.request(.GET, "/hls/live/count/index.m3u8").status) == 200
            }
            // The wait above fetched the playlist at least once; fetch it twice more, and one segment.
            var playlist = ""
            for _ in 0..<2 { playlist = try await server.request(.GET, "/hls/live/count/index.m3u8").body }
            let segmentURI = try #require(entries(of: playlist).first?.uri)
            let segment = try await server.fetch("/hls/live/count/\(segmentURI)")
            #expect(segment.status == 200)
            for body in [
                #"{"kind":"product.pin","payload":{"sku":"A","title":"Tea","price":1,"currency":"CNY"}}"#,
                #"{"kind":"product.pin","payload":{"sku":"B","title":"Cup","price":2,"currency":"CNY"}}"#,
                #"{"kind":"announcement","payload":{"text":"hello"}}"#,
            ] {
                let placed = try await server.request(.POST, "/api/v1/streams/live/count/cues", body: body)
                #expect(placed.status == 201, "\(placed.body)")
            }
            // Three idle keep-alive connections besides the client's own.
            let group = NIOSingletons.posixEventLoopGroup
            var idle: [any Channel] = []
            for _ in 0..<3 {
                idle.append(try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: server.httpPort).get())
            }

            struct View: Decodable {
                struct HLS: Decodable {
                    var playlistRequests: Int, segmentRequests: Int, bytesOut: Int, listedBytes: Int, retainedBytes: Int
                }
                var hls: HLS
                var cues: [String: Int]
            }
            let view = try JSONDecoder().decode(View.self, from: Data(try await server.request(.GET, "/api/v1/streams/live/count").body.utf8))
            #expect(view.hls.playlistRequests >= 3)
            #expect(view.hls.segmentRequests == 1)
            #expect(view.hls.bytesOut >= segment.body.count + playlist.utf8.count)
            // The fetched segment is still held, listed or retained after leaving the playlist.
            #expect(view.hls.listedBytes > 0 && view.hls.listedBytes + view.hls.retainedBytes >= segment.body.count)
            #expect(view.cues == ["product.pin": 2, "announcement": 1])

            let metrics = String(decoding: try await server.fetch("/metrics").body, as: UTF8.self)
            let labels = #"app="live",stream="count""#
            #expect(MetricsTests.samples(metrics, "cuecast_stream_cues_total")["cuecast_stream_cues_total{\(labels),kind=\"product.pin\"}"] == 2)
            #expect(MetricsTests.samples(metrics, "cuecast_stream_http_requests_total")["cuecast_stream_http_requests_total{\(labels),file=\"segment\"}"] == 1)
            let open = try #require(MetricsTests.samples(metrics, "cuecast_http_connections").values.first)
            #expect(open >= 4, "three idle connections and the scraping one: \(open)")

            for channel in idle { try await channel.close() }
            try await server.eventually("closed connections no longer counted") {
                let text = String(decoding: try await server.fetch("/metrics").body, as: UTF8.self)
                return (MetricsTests.samples(text, "cuecast_http_connections").values.first ?? 99) <= open - 3
            }
        }
    }

    /// `--stats off` (for measuring what statistics cost) counts nothing but still remuxes and serves.
    @Test func statisticsOffStillServes() async throws {
        try await withServer(configure: { $0.statistics = false }) { server in
            let secret = try await server.server.keys.add(stream: "live/quiet")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/quiet?key=\(secret)", loops: 3)
            defer { publish.cancel() }
            try await server.eventually("two segments") {
                entries(of: try await server.request(.GET, "/hls/live/quiet/index.m3u8").body).count >= 2
            }
            let stream = try #require(server.server.hub.stream(StreamPath("live/quiet")!))
            let snapshot = stream.snapshot()
            #expect(snapshot.counters.videoFrames == 0)
            #expect(snapshot.statistics.rates.frameRate == nil)
        }
    }
}

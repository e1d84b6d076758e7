import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Media
import Testing
import TestSupport

@testable import Web

@Suite struct HLSDeliveryTests {
    /// Publishes `fixture` as fast as possible and waits for its playlist to end; the playlist and its first URI.
    func publishUntilEnded(_ fixture: String, as stream: String, on server: TestServer) async throws -> (playlist: String, firstURI: String) {
        let secret = try await server.server.keys.add(stream: stream)
        _ = try await ffmpegPublish(fixture, to: "\(server.rtmpBase)/\(stream)?key=\(secret)", realtime: false)
        var playlist = ""
        try await server.eventually("playlist to end") {
            playlist = try await server.request(.GET, "/hls/\(stream)/index.m3u8").body
            return playlist.contains("#EXT-X-ENDLIST")
        }
        return (playlist, try #require(entries(of: playlist).first?.uri))
    }

    @Test func fileNames() {
        #expect(HLSResponder.File("index.m3u8").map { if case .mediaPlaylist = $0 { true } else { false } } == true)
        #expect(HLSResponder.File("master.m3u8").map { if case .multivariantPlaylist = $0 { true } else { false } } == true)
        for good in ["k3x9a-0.ts", "A-Z.ts", "1-2.ts", String(repeating: "a", count: 30) + "-" + String(repeating: "9", count: 30) + ".ts"] {
            guard case .segment(let uri) = HLSResponder.File(good) else {
                Issue.record("\(good) should be a segment")
                continue
            }
            #expect(uri == good)
        }
        let tooLong = String(repeating: "a", count: 31) + "-" + String(repeating: "9", count: 30) + ".ts"
        for bad in ["", ".ts", "-.ts", "a-.ts", "-1.ts", "a-b-c.ts", "a1.ts", "a-1.TS", "a-1.ts.", "a_b-1.ts", "a-1%2e.ts", "é-1.ts",
            "a-1.m3u8", "index.m3u", "Index.m3u8", tooLong] {
            #expect(HLSResponder.File(bad) == nil, "\(bad)")
        }
    }

    @Test func headersRangesAndErrors() async throws {
        let mirror = try TemporaryDirectory()
        defer { mirror.remove() }
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.hls.mirrorDirectory = mirror.path
        }) { server in
            let (_, uri) = try await publishUntilEnded(Fixtures.bframes, as: "live/d", on: server)

            let full = try await server.fetch("/hls/live/d/\(uri)")
            #expect(full.status == 200)
            #expect(full.headers["Content-Type"].first == "video/mp2t")
            #expect(full.headers["Content-Length"].first == String(full.body.count))
            #expect(full.headers["Cache-Control"].first == "public, max-age=86400, immutable")
            #expect(full.headers["Transfer-Encoding"].isEmpty)
            let etag = try #require(full.headers["ETag"].first)
            #expect(try await server.fetch("/hls/live/d/\(uri)", headers: [("If-None-Match", etag)]).status == 304)

            let head = try await server.fetch("/hls/live/d/\(uri)", method: .HEAD)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["Content-Length"].first == String(full.body.count))

            let range = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", "bytes=188-375")])
            #expect(range.status == 206)
            #expect(range.body == Array(full.body[188..<376]))
            #expect(range.headers["Content-Range"].first == "bytes 188-375/\(full.body.count)")
            let suffix = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", "bytes=-188")])
            #expect(suffix.body == Array(full.body.suffix(188)))
            let past = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", "bytes=\(full.body.count)-")])
            #expect(past.status == 416)
            #expect(past.headers["Content-Range"].first == "bytes */\(full.body.count)")
            // RFC 9110 §14.2: a satisfiable request is never refused. Several ranges, an unknown unit and a
            // malformed range get the whole segment; Safari's probe and a range past the end are clamped.
            for ignored in ["bytes=0-1,188-189", "frames=0-10", "bytes=abc", "bytes=5-2"] {
                let whole = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", ignored)])
                #expect(whole.status == 200, "\(ignored)")
                #expect(whole.body == full.body, "\(ignored)")
            }
            let probe = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", "bytes=0-1")])
            #expect(probe.status == 206)
            #expect(probe.body == Array(full.body.prefix(2)))
            let clamped = try await server.fetch("/hls/live/d/\(uri)", headers: [("Range", "bytes=0-\(full.body.count * 10)")])
            #expect(clamped.headers["Content-Range"].first == "bytes 0-\(full.body.count - 1)/\(full.body.count)")

            // CORS on every answer, Origin or not (a cache fills from the first request), with the headers hls.js
            // reads exposed; preflights answered.
            for origin in [[], [("Origin", "https://shop.example")]] as [[(String, String)]] {
                let ranged = try await server.fetch("/hls/live/d/\(uri)", headers: origin + [("Range", "bytes=0-1")])
                #expect(ranged.headers["Access-Control-Allow-Origin"].first == "*")
                #expect(ranged.headers["Access-Control-Expose-Headers"].first?.contains("Content-Range") == true)
                #expect(ranged.headers["Vary"].isEmpty, "nothing varies with origin *")
            }
            let preflight = try await server.fetch(
                "/hls/live/d/\(uri)", method: .OPTIONS,
                headers: [("Origin", "https://shop.example"), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "range")])
            #expect((200..<300).contains(preflight.status))
            #expect(preflight.headers["Access-Control-Allow-Origin"].first == "*")
            #expect(preflight.headers["Access-Control-Allow-Headers"].first?.lowercased().contains("range") == true)

            let list = try await server.fetch("/hls/live/d/index.m3u8", headers: [("Origin", "https://shop.example")])
            #expect(list.headers["Content-Type"].first == "application/vnd.apple.mpegurl")
            #expect(list.headers["Access-Control-Allow-Origin"].first == "*")
            #expect(list.headers["Cache-Control"].first == "public, max-age=600", "ended playlists are cached longer")

            // Each segment write had a descriptor of its own on the segment's file; all are closed again.
            try await server.eventually("segment write handles closed") {
                try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == "/memfd:cuecast-live/d/\(uri) (deleted)"
                }.count == 1
            }

            // The mirror holds the same bytes.
            let mirrored = try Data(contentsOf: URL(fileURLWithPath: "\(mirror.path)/live/d/\(uri)"))
            #expect(Array(mirrored) == full.body)
            #expect(FileManager.default.fileExists(atPath: "\(mirror.path)/live/d/index.m3u8"))

            let missing = try await server.fetch("/hls/live/nope/index.m3u8")
            #expect(missing.status == 404)
            #expect(missing.headers["Access-Control-Allow-Origin"].first == "*", "a browser may read the 404")
            #expect(try await server.fetch("/hls/live/d/zzzz-999.ts").status == 404)
            for bad in ["/hls/live/d/index.txt", "/hls/live/d/..%2F..%2Fetc%2Fpasswd", "/hls/li%20ve/d/index.m3u8", "/hls/live/d/a-b-c.ts", "/hls/live/.d/index.m3u8"] {
                let status = try await server.fetch(bad).status
                #expect(status == 400, "\(bad) → \(status)")
            }
        }
    }

    @Test func liveHeadersAndViewerCount() async throws {
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/v")
            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/v?key=\(secret)")
            try await server.eventually("first segment") { try await server.fetch("/hls/live/v/index.m3u8").status == 200 }
            let live = try await server.fetch("/hls/live/v/index.m3u8", headers: [("User-Agent", "viewer-a")])
            #expect(live.headers["Cache-Control"].first == "public, max-age=1", "live playlists live about half a target duration")
            _ = try await server.fetch("/hls/live/v/index.m3u8", headers: [("User-Agent", "viewer-b")])
            _ = try await server.fetch("/hls/live/v/index.m3u8", headers: [("User-Agent", "viewer-b")])
            let api = try await server.request(.GET, "/api/v1/streams/live/v")
            // viewer-a, viewer-b and the test's own first poll (no User-Agent): three distinct clients.
            #expect(api.body.contains(#""viewers":3"#), "\(api.body)")
            #expect(api.body.contains(#""playlist":"/hls/live/v/index.m3u8""#))
            // Segments are listed as soon as the keyframe that closes them arrives.
            struct Stream: Decodable {
                struct HLS: Decodable { var listingDelayP99: Double? }
                var hls: HLS?
            }
            var delay: Double?
            try await server.eventually("a segment closed by a keyframe") {
                delay = try JSONDecoder().decode(Stream.self, from: Data(try await server.request(.GET, "/api/v1/streams/live/v").body.utf8)).hls?.listingDelayP99
                return delay != nil
            }
            #expect(try #require(delay) < 0.5)
            _ = try await publish
        }
    }

    @Test func urisAreNeverReusedAcrossARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var firstURIs: [String] = []
        var secret = ""
        do {
            let server = try await TestServer.start(directory: directory) { $0.hls.gracePeriod = 1 }
            secret = try await server.server.keys.add(stream: "live/r")
            _ = try await ffmpegPublish(Fixtures.small, to: "\(server.rtmpBase)/live/r?key=\(secret)", realtime: false)
            try await server.eventually("segments") { entries(of: try await server.request(.GET, "/hls/live/r/index.m3u8").body).count >= 2 }
            try await Task.sleep(for: .milliseconds(300))  // the sequence number is stored in the background
            firstURIs = entries(of: try await server.request(.GET, "/hls/live/r/index.m3u8").body).map(\.uri)
            await server.stop(keepDirectory: true)
        }
        let server = try await TestServer.start(directory: directory) { $0.hls.gracePeriod = 1 }
        _ = try await ffmpegPublish(Fixtures.small, to: "\(server.rtmpBase)/live/r?key=\(secret)", realtime: false)
        try await server.eventually("segments after restart") { entries(of: try await server.request(.GET, "/hls/live/r/index.m3u8").body).count >= 2 }
        let playlist = try await server.request(.GET, "/hls/live/r/index.m3u8").body
        let secondURIs = entries(of: playlist).map(\.uri)
        await server.stop(keepDirectory: true)
        #expect(Set(firstURIs).isDisjoint(with: secondURIs))
        let lastBefore = firstURIs.compactMap { Int($0.dropLast(3).split(separator: "-").last!) }.max()!
        #expect((mediaSequence(of: playlist) ?? 0) > lastBefore, "numbering continues after the restart")
    }

    /// A real nginx `proxy_cache` in front: the first request has no Origin (ffmpeg, a native player, the cache's
    /// own fill); the browsers after it are answered from the cache and must still get their CORS headers, for
    /// whole and ranged requests alike.
    @Test func throughAnNginxCacheBrowsersKeepTheirCORSHeaders() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let (_, uri) = try await publishUntilEnded(Fixtures.small, as: "live/cdn", on: server)
            let port = try await Nginx.freePort()
            let nginx = try Nginx.start("""
                events {}
                http {
                    access_log off;
                    \(Nginx.httpTemporaryPaths)
                    proxy_cache_path <dir>/cache keys_zone=hls:1m;
                    server {
                        listen 127.0.0.1:\(port);
                        location /hls/ {
                            proxy_pass http://127.0.0.1:\(server.httpPort);
                            proxy_cache hls;
                            proxy_cache_lock on;
                            proxy_cache_valid 200 10m;
                            add_header X-Cache $upstream_cache_status;
                        }
                    }
                }
                """)
            defer { nginx.stop() }
            func get(_ path: String, _ headers: [(String, String)]) async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                return (Int(response.status.code), Array(try await response.body.collect(upTo: 16 << 20).readableBytesView), response.headers)
            }
            // nginx needs a moment to listen.
            try await server.eventually("nginx to answer") { (try? await get("/hls/live/cdn/index.m3u8", [])) != nil }
            let direct = try await server.fetch("/hls/live/cdn/\(uri)")
            for path in ["/hls/live/cdn/index.m3u8", "/hls/live/cdn/\(uri)"] {
                _ = try await get(path, [])  // fills the cache without an Origin
                let browser = try await get(path, [("Origin", "https://shop.example")])
                #expect(browser.status == 200)
                #expect(browser.headers["X-Cache"].first == "HIT", "\(path) came from the cache")
                #expect(browser.headers["Access-Control-Allow-Origin"].first == "*", "\(path)")
                #expect(browser.headers["Access-Control-Expose-Headers"].first?.contains("Content-Range") == true, "\(path)")
            }
            let ranged = try await get("/hls/live/cdn/\(uri)", [("Origin", "https://shop.example"), ("Range", "bytes=0-1")])
            #expect(ranged.status == 206)
            #expect(ranged.body == Array(direct.body.prefix(2)))
            #expect(ranged.headers["Access-Control-Allow-Origin"].first == "*")
            #expect(ranged.headers["Access-Control-Expose-Headers"].first?.contains("Content-Range") == true)
        }
    }

    /// With one allowed origin, every answer names it and says it varies by origin, Origin header or not: a cache
    /// in front keeps one copy per origin and never serves a browser an answer made for a native player.
    @Test func aSpecificOriginVariesEveryAnswer() async throws {
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.corsOrigin = "https://shop.example"
        }) { server in
            let (_, uri) = try await publishUntilEnded(Fixtures.small, as: "live/o", on: server)
            for path in ["/hls/live/o/index.m3u8", "/hls/live/o/\(uri)"] {
                for headers in [[], [("Origin", "https://shop.example")], [("Connection", "close")]] as [[(String, String)]] {
                    let answer = try await server.fetch(path, headers: headers)
                    #expect(answer.status == 200)
                    #expect(answer.headers["Access-Control-Allow-Origin"].first == "https://shop.example", "\(path) \(headers)")
                    #expect(answer.headers["Vary"] == ["Origin"], "\(path) \(headers)")
                }
            }
            let preflight = try await server.fetch(
                "/hls/live/o/index.m3u8", method: .OPTIONS, headers: [("Origin", "https://shop.example"), ("Access-Control-Request-Method", "GET")])
            #expect((200..<300).contains(preflight.status))
            #expect(preflight.headers["Access-Control-Allow-Origin"].first == "https://shop.example")
        }
    }

    /// Playlists and segments are answered in the connection's pipeline; `Connection: close` sends the same
    /// request through the router. Both must give the same answer, and pipelined requests keep their order.
    @Test func pipelineAnswersMatchTheRouterAndKeepOrder() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            // Segments of this clip are larger than the router's read size, so its answers come in several runs.
            let (playlist, uri) = try await publishUntilEnded(Fixtures.bframes, as: "live/p", on: server)
            let variants: [[(String, String)]] = [
                [], [("Origin", "https://shop.example")], [("Range", "bytes=188-375")], [("If-None-Match", "\"nope\"")],
                [("Range", "bytes=0-1,188-189")], [("Range", "frames=0-10")], [("Origin", "https://a.example"), ("Range", "bytes=-188")],
            ]
            for path in ["/hls/live/p/index.m3u8", "/hls/live/p/\(uri)"] {
                for headers in variants {
                    let inPipeline = try await server.fetch(path, headers: headers)
                    let routed = try await server.fetch(path, headers: headers + [("Connection", "close")])
                    #expect(inPipeline.status == routed.status, "\(path) \(headers)")
                    #expect(inPipeline.body == routed.body, "\(path) \(headers)")
                    if path.hasSuffix(".ts") && headers.isEmpty { #expect(routed.body.count > 2 * HLSRoutes.readSize) }
                    let ignored: Set<String> = ["connection", "date"]
                    func fields(_ headers: HTTPHeaders) -> [String] {
                        headers.filter { !ignored.contains($0.name.lowercased()) }.map { "\($0.name.lowercased()): \($0.value)" }.sorted()
                    }
                    #expect(fields(inPipeline.headers) == fields(routed.headers), "\(path) \(headers)")
                    // The date's value may differ by a second; both carry one.
                    #expect(inPipeline.headers["Date"].count == 1 && routed.headers["Date"].count == 1, "\(path) \(headers)")
                }
            }

            // Five requests in one write: the pipeline answers the first two at once; from the third on (the
            // router's), every answer waits its turn behind the router's.
            let requests = ["/hls/live/p/index.m3u8", "/hls/live/p/\(uri)", "/healthz", "/hls/live/nope/index.m3u8", "/hls/live/p/index.m3u8"]
            let text = requests.enumerated().map { index, path in
                "GET \(path) HTTP/1.1\r\nHost: test\r\n\(index == requests.count - 1 ? "Connection: close\r\n" : "")\r\n"
            }.joined()
            let client = try await RawRTMPClient.connect(port: server.httpPort)
            var bytes = try await client.sendAndAwaitClose(ByteBuffer(string: text))
            var answers: [(status: Int, length: Int)] = []
            while let head = bytes.readHTTPHead() {
                let length = head.contentLength ?? 0
                #expect(bytes.readSlice(length: length) != nil)
                answers.append((head.status, length))
            }
            #expect(answers.map(\.status) == [200, 200, 200, 404, 200])
            let segment = try await server.fetch("/hls/live/p/\(uri)")
            #expect(answers.map(\.length)[0..<2] == [playlist.utf8.count, segment.body.count])
            #expect(answers.last?.length == playlist.utf8.count)
        }
    }
}

extension HLSDeliveryTests {
    /// Collects what the server sends until it closes the connection.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received = ByteBuffer()
        private let closed: EventLoopPromise<ByteBuffer>

        init(closed: EventLoopPromise<ByteBuffer>) { self.closed = closed }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.succeed(received)
        }
    }

    /// A client pipelines 100 segment requests and reads nothing: the server answers one at a time as the client
    /// takes them (each answer in flight holds a descriptor), and every answer arrives, in order, once it reads.
    @Test func pipelinedRequestsOfAClientThatDoesNotReadWaitTheirTurn() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let (_, uri) = try await publishUntilEnded(Fixtures.bframes, as: "live/pipe", on: server)
            let size = try await server.fetch("/hls/live/pipe/\(uri)").body.count
            func writesInFlight() throws -> Int {
                try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == "/memfd:cuecast-live/pipe/\(uri) (deleted)"
                }.count - 1
            }

            let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
            let closed = eventLoop.makePromise(of: ByteBuffer.self)
            let channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(closed: closed)) }
                }
                .connect(host: "127.0.0.1", port: server.httpPort).get()
            let count = 100
            let requests = (0..<count).map { index in
                "GET /hls/live/pipe/\(uri) HTTP/1.1\r\nHost: test\r\n\(index == count - 1 ? "Connection: close\r\n" : "")\r\n"
            }.joined()
            try await channel.writeAndFlush(ByteBuffer(string: requests))

            // The first answer goes out; the rest wait, holding no descriptor.
            try await server.eventually("the first answer to be in flight") { try writesInFlight() >= 1 }
            var most = 0
            for _ in 0..<10 {
                most = max(most, try writesInFlight())
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(most <= 2, "\(most) segment writes in flight for a client that reads nothing")

            try await channel.setOption(.autoRead, value: true).get()
            var bytes = try await closed.futureResult.get()
            var statuses: [Int] = []
            while let head = bytes.readHTTPHead() {
                statuses.append(head.status)
                #expect(head.contentLength == size)
                #expect(bytes.readSlice(length: head.contentLength ?? 0) != nil)
            }
            #expect(statuses == Array(repeating: 200, count: count))
            #expect(bytes.readableBytes == 0)
            try await server.eventually("segment writes done") { try writesInFlight() == 0 }
        }
    }

    /// A client that does not keep the connection alive (HTTP/1.0 without keep-alive, `Connection: Close` in any
    /// case) gets its answer and then the close it waits for, from the pipeline and the router alike.
    @Test func connectionsNotKeptAliveCloseAfterTheAnswer() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let (playlist, uri) = try await publishUntilEnded(Fixtures.small, as: "live/ka", on: server)
            let segment = try await server.fetch("/hls/live/ka/\(uri)").body
            let paths: [(String, Int?)] = [("/hls/live/ka/index.m3u8", playlist.utf8.count), ("/hls/live/ka/\(uri)", segment.count), ("/healthz", nil)]
            for (path, length) in paths {
                let requests = [
                    "GET \(path) HTTP/1.0\r\n\r\n", "GET \(path) HTTP/1.0\r\nConnection: close\r\n\r\n",
                    "GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: Close\r\n\r\n",
                    "GET \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\nConnection: te\r\n\r\n",
                ] + (path.hasPrefix("/hls/") ? ["HEAD \(path) HTTP/1.0\r\n\r\n"] : [])
                for request in requests {
                    // No idle timeout closes HTTP connections: a connection left open fails here.
                    let client = try await RawRTMPClient.connect(port: server.httpPort)
                    var bytes = try await client.sendAndAwaitClose(ByteBuffer(string: request), timeout: 5)
                    let head = bytes.readHTTPHead()
                    let answer = try #require(head, "\(request)")
                    #expect(answer.status == 200, "\(request)")
                    if let length { #expect(answer.contentLength == length, "\(request)") }
                    #expect(bytes.readableBytes == (request.hasPrefix("HEAD") ? 0 : answer.contentLength), "\(request)")
                }
            }
            // HTTP/1.0 with keep-alive stays open for the next request, and each answer says so (an HTTP/1.0 client
            // such as `ab -k` otherwise waits for a close), from the pipeline and the router.
            let client = try await RawRTMPClient.connect(port: server.httpPort)
            let keepAlive = ["/hls/live/ka/index.m3u8", "/healthz", "/hls/live/ka/index.m3u8"].map { "GET \($0) HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" }
            var bytes = try await client.sendAndAwaitClose(ByteBuffer(string: keepAlive.joined() + "GET /healthz HTTP/1.0\r\n\r\n"), timeout: 5)
            var answers: [(status: Int, keepAlive: Bool)] = []
            while let text = bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes), let head = bytes.readHTTPHead() {
                let fields = text[..<(text.range(of: "\r\n\r\n")?.lowerBound ?? text.endIndex)].lowercased()
                answers.append((head.status, fields.contains("\r\nconnection: keep-alive")))
                #expect(bytes.readSlice(length: head.contentLength ?? 0) != nil)
            }
            #expect(answers.map(\.status) == [200, 200, 200, 200])
            #expect(answers.map(\.keepAlive) == [true, true, true, false])
        }
    }
}

extension ByteBuffer {
    /// Reads one HTTP/1.1 response head: its status and Content-Length.
    mutating func readHTTPHead() -> (status: Int, contentLength: Int?)? {
        let view = readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let headLength = end.upperBound - view.startIndex
        let head = readString(length: headLength)!
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        let length = lines.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        return (status, length)
    }
}

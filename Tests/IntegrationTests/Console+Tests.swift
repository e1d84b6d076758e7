import Foundation
import Media
import Testing
import TestSupport

/// The console and viewer pages in a real browser, and the files they are built from.
@Suite(.serialized) struct ConsoleTests {
    /// Headless Chromium: the console (token entered once) lists the stream with a playing preview and growing
    /// sparklines; "Pin product" there puts the card on a phone-sized viewer page when the picture reaches the cue's
    /// frame, within the viewer's latency plus 2 s; the DATERANGE is in the playlist.
    @Test func pinInTheConsoleShowsOnTheViewerPage() async throws {
        let root = Fixtures.directory.deletingLastPathComponent()
        let hlsjs = root.appendingPathComponent(".build/hlsjs/hls.js").path
        try #require(
            FileManager.default.fileExists(atPath: hlsjs),
            "no hls.js at \(hlsjs): scripts/test fetches it (ensure_hlsjs in scripts/lib/common.sh)")
        // The viewer page loads hls.js from the server itself (`--hlsjs FILE`), as where jsDelivr is out of reach.
        try await withServer(configure: { $0.hlsjs = hlsjs }) { server in
            let secret = try await server.server.keys.add(stream: "live/shop")
            // About 60 s of media: the pages need ~25 s, the rest is margin for a slow machine.
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/shop?key=\(secret)", loops: 9)
            defer { publish.cancel() }
            try await server.eventually("three segments") {
                entries(of: try await server.request(.GET, "/hls/live/shop/index.m3u8").body).count >= 3
            }
            let artifacts = root.appendingPathComponent("artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let script = root.appendingPathComponent("scripts/testing/console_watch.py").path
            // An nginx-rtmp for the push target the browser adds from the stream card.
            let port = try await Nginx.freePort()
            let nginx = try Nginx.start("events {}\nrtmp { server { listen 127.0.0.1:\(port); application live { live on; } } }", rtmpModule: true)
            defer { nginx.stop() }
            let output = try await Tool("python3").run(
                [script, server.httpBase, server.server.adminToken, "live/shop", artifacts.path, "rtmp://127.0.0.1:\(port)/live/console-key-0123456789"],
                timeout: 150, requireSuccess: false)
            #expect(output.status == 0, "browsers: \(output.text) \(output.stderr.suffix(2000))")
            let figures = try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any] ?? [:]
            #expect(figures["ok"] as? Bool == true, "\(figures)")
            // hls.js, in low-latency mode on ll.m3u8, not Chromium's native HLS.
            #expect((figures["viewerPlayer"] as? String)?.hasPrefix("hls.js 1.6") == true, "\(figures)")
            // The console showed what the fixture carries: ~30 fps at roughly 0.3-0.5 Mbit/s.
            #expect(abs((figures["consoleFrameRate"] as? Double ?? 0) - 30) <= 2, "\(figures)")
            let kbps = figures["consoleBitrateKbps"] as? Double ?? 0
            #expect(kbps > 150 && kbps < 900, "\(figures)")
            // The cue the browser placed is in the log, stamped on a frame.
            let cue = try #require(figures["cue"] as? String)
            let log = try await server.request(.GET, "/api/v1/streams/live/shop/cues").body
            #expect(log.contains(cue))
            // The push the browser added went live, showed its key masked, and was switched off.
            let pushes = try await server.request(.GET, "/api/v1/streams/live/shop/pushes").body
            #expect(pushes.contains("\"name\":\"console-push\"") && pushes.contains("\"state\":\"disabled\""), "\(pushes)")
            #expect(pushes.contains("\"live\""), "it was live before: \(pushes)")
            for name in ["console.png", "watch-product-card.png"] {
                #expect(FileManager.default.fileExists(atPath: artifacts.appendingPathComponent(name).path), "\(name)")
            }
        }
    }

    /// The newcomer's order (issue 15): a push target added in the console to a stream that has a key but is not
    /// live waits there, key masked; the first publish starts it, the live card shows it live, and the target
    /// (nginx-rtmp) gets the show.
    @Test func pushTargetsAreSetUpInTheConsoleBeforeTheShow() async throws {
        let root = Fixtures.directory.deletingLastPathComponent()
        let port = try await Nginx.freePort()
        let nginx = try LongRealTimeTests.PushTests.nginx(port: port)
        defer { nginx.stop() }
        try await withServer { server in
            let secret = try await server.server.keys.add(stream: "live/later")
            let artifacts = root.appendingPathComponent("artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let script = root.appendingPathComponent("scripts/testing/console_offline_push.py").path
            let target = "rtmp://127.0.0.1:\(port)/live/later-key-0123456789"
            let shot = artifacts.appendingPathComponent("console-offline-push.png").path
            try? FileManager.default.removeItem(atPath: shot)
            // A stream with a target and no key: listed too, with a note (a typo in a name shows up so).
            _ = try await LongRealTimeTests.PushTests.addTarget(server, stream: "live/nokey", url: "rtmp://127.0.0.1:1/live/nokey-key-0123", name: "typo")
            async let browser = Tool("python3").run(
                [script, server.httpBase, server.server.adminToken, "live/later", target, artifacts.path, "live/nokey"], timeout: 120, requireSuccess: false)
            // The target exists before any publish, and waits; the browser has seen it so (its screenshot).
            try await server.eventually(timeout: 60, "the browser seeing the target it added") {
                FileManager.default.fileExists(atPath: shot)
            }
            let waiting = try await server.request(.GET, "/api/v1/streams/live/later/pushes").body
            #expect(waiting.contains("\"state\":\"idle\"") && !waiting.contains("later-key-0123456789"), "\(waiting)")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/later?key=\(secret)", loops: 9)
            defer { publish.cancel() }
            let output = try await browser
            #expect(output.status == 0, "browser: \(output.text) \(output.stderr.suffix(2000))")
            let seen = try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any] ?? [:]
            #expect(seen["ok"] as? Bool == true && seen["offlineState"] as? String == "idle", "\(seen)")
            #expect((seen["failedLine"] as? String).map { $0.contains("last error at ") && $0.contains("next try at ") } == true, "\(seen)")
            #expect((seen["keylessLine"] as? String)?.contains("typo") == true && (seen["keylessLine"] as? String)?.contains("nokey-key-0123") == false, "\(seen)")
            // What the target got is the show: video frames read back through nginx-rtmp's own play output.
            let dir = try TemporaryDirectory()
            let frames = try await LongRealTimeTests.PushTests.framesThrough("rtmp://127.0.0.1:\(port)/live/later-key-0123456789", seconds: 3, into: dir, name: "later")
            #expect(frames >= 60, "about 30 fps for 3 s through the target: \(frames)")
        }
    }

    @Test func pagesAndAssetsAreServedByExactName() async throws {
        try await withServer { server in
            let console = try await server.request(.GET, "/console", token: .some(nil))
            #expect(console.status == 200)
            #expect(console.headers["Content-Type"].first == "text/html; charset=utf-8")
            #expect(console.body.contains("/assets/console.js"))
            let watch = try await server.request(.GET, "/watch/live/demo", token: .some(nil))
            #expect(watch.status == 200)
            #expect(watch.body.contains("name=\"viewport\""), "phone viewport")
            #expect(watch.body.contains("/assets/watch.js"))
            #expect(watch.body.contains(#"<meta name="cuecast-hlsjs" content="https://cdn.jsdelivr.net/npm/hls.js@1/dist/hls.min.js">"#))
            #expect(try await server.request(.GET, "/assets/hls.js", token: .some(nil)).status == 404, "no local hls.js by default")
            let script = try await server.request(.GET, "/assets/watch.js", token: .some(nil))
            #expect(script.status == 200)
            #expect(script.headers["Content-Type"].first == "text/javascript; charset=utf-8")
            #expect(script.body.contains("EXT-X-PROGRAM-DATE-TIME"))
            #expect(try await server.request(.GET, "/assets/cuecast.css", token: .some(nil)).status == 200)
            // Names outside the embedded set, traversal and malformed stream paths get a clear error.
            for path in ["/assets/missing.js", "/assets/..%2FPackage.swift", "/assets/%2e%2e"] {
                let response = try await server.request(.GET, path, token: .some(nil))
                #expect(response.status == 404, "\(path)")
                #expect(response.body.contains("\"message\""), "\(path): \(response.body)")
            }
            #expect(try await server.request(.GET, "/watch/live/bad%20name", token: .some(nil)).status == 400)
            // HEAD wherever GET is: the same status and length, no body (a link checker or a CDN's probe).
            for path in ["/console", "/watch/live/demo", "/assets/console.js", "/healthz", "/api/v1/openapi.json"] {
                let get = try await server.fetch(path)
                let head = try await server.fetch(path, method: .HEAD)
                #expect(get.status == 200 && head.status == 200, "\(path): GET \(get.status), HEAD \(head.status)")
                #expect(head.body.isEmpty, "\(path)")
                #expect(head.headers["Content-Length"] == ["\(get.body.count)"], "\(path): \(head.headers)")
            }
        }
    }

    /// The OpenAPI document parses, and every field the API returns for a live stream is described in it.
    @Test func openAPIDescribesWhatTheAPIReturns() async throws {
        try await withServer { server in
            let document = try await server.request(.GET, "/api/v1/openapi.json", token: .some(nil))
            #expect(document.status == 200)
            let root = try #require(try JSONSerialization.jsonObject(with: Data(document.body.utf8)) as? [String: Any])
            #expect(root["openapi"] as? String == "3.1.0")
            let paths = try #require(root["paths"] as? [String: Any])
            for path in ["/api/v1/streams", "/api/v1/streams/{app}/{stream}", "/api/v1/stats/live", "/api/v1/keys", "/api/v1/streams/{app}/{stream}/cues"] {
                #expect(paths[path] != nil, "\(path)")
            }
            let schemas = try #require((root["components"] as? [String: Any])?["schemas"] as? [String: Any])
            let stream = try #require(schemas["Stream"] as? [String: Any])
            let properties = try #require(stream["properties"] as? [String: Any])
            let hlsProperties = try #require((properties["hls"] as? [String: Any])?["properties"] as? [String: Any])

            let secret = try await server.server.keys.add(stream: "live/doc")
            let publish = ffmpegPublishLooping("\(server.rtmpBase)/live/doc?key=\(secret)", loops: 0)
            defer { publish.cancel() }
            try await server.eventually("a segment listed") {
                (try? await server.request(.GET, "/hls/live/doc/index.m3u8").status) == 200
            }
            let view = try #require(try JSONSerialization.jsonObject(with: Data(try await server.request(.GET, "/api/v1/streams/live/doc").body.utf8)) as? [String: Any])
            for key in view.keys { #expect(properties[key] != nil, "Stream.\(key) is not in the OpenAPI document") }
            for key in (view["hls"] as? [String: Any] ?? [:]).keys { #expect(hlsProperties[key] != nil, "Stream.hls.\(key) is not documented") }
            let serverSchema = try #require(schemas["Server"] as? [String: Any])
            for key in ["version", "uptimeSeconds", "rtmpConnections", "httpConnections", "liveStreams", "cpuSeconds", "residentBytes", "heapBytes"] {
                #expect((serverSchema["properties"] as? [String: Any])?[key] != nil, "Server.\(key)")
            }
        }
    }
}

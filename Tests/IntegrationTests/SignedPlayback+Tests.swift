import Foundation
import Media
import PlaybackSigning
import Testing
import TestSupport

/// Signed playback on every path that plays: HLS, LL-HLS, HTTP-FLV and RTMP. Tokens come from the real
/// `cuecast sign`; ffprobe, the independent LL-HLS client and the RTMP player follow the signed URLs.
@Suite struct SignedPlaybackTests {
    static let secret = "playback-secret-for-tests"

    static func sign(_ scope: String, ttl: Int = 600) async throws -> String {
        try await Tool(CLITests.binary).run(["sign", scope, "--ttl", "\(ttl)", "--secret", secret, "--token-only"]).text
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func message(_ body: [UInt8]) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: [String: Any]])?["error"]?["message"] as? String
    }

    @Test func everyPlaybackPathNeedsAValidToken() async throws {
        try await withServer(configure: {
            $0.playbackSigningSecret = Self.secret
            $0.hls.gracePeriod = 2
        }) { server in
            let publish = try await server.publishLive(StreamPath("live/signed")!, loops: 3)
            defer { publish.cancel() }
            let token = try await Self.sign("live/signed")
            try await server.eventually("signed playlist with two segments") {
                let response = try await server.fetch("/hls/live/signed/index.m3u8?token=\(token)")
                return response.status == 200 && String(decoding: response.body, as: UTF8.self).components(separatedBy: "#EXTINF").count > 2
            }

            // Without a token, with another stream's, or an expired one: 403 with the reason.
            let other = try await Self.sign("live/other")
            let expired = PlaybackSigner(secret: Self.secret).token(scope: "live/signed", expiry: Date().addingTimeInterval(-5))
            for (query, reason) in [("", "?token= is missing"), ("?token=\(other)", "does not match"), ("?token=\(expired)", "expired at"),
                                    ("?token=garbage", "malformed")] {
                for path in ["/hls/live/signed/index.m3u8", "/hls/live/signed/ll.m3u8", "/hls/live/signed/master.m3u8", "/live/signed.flv"] {
                    let response = try await server.fetch(path + query)
                    #expect(response.status == 403, "\(path)\(query)")
                    #expect(Self.message(response.body)?.contains(reason) == true, "\(path)\(query): \(String(decoding: response.body, as: UTF8.self))")
                }
            }

            // The signed playlists carry the token into every URI players fetch; the segments refuse without it.
            let signedResponse = try await server.fetch("/hls/live/signed/index.m3u8?token=\(token)")
            let media = String(decoding: signedResponse.body, as: UTF8.self)
            // It holds this viewer's token: shared caches must not keep it, and another token's copy differs.
            #expect(signedResponse.headers.first(name: "Cache-Control")?.hasPrefix("private") == true)
            let appSigned = try await server.fetch("/hls/live/signed/index.m3u8?token=\(try await Self.sign("live"))")
            #expect(appSigned.headers.first(name: "ETag") != signedResponse.headers.first(name: "ETag"))
            let uris = media.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            #expect(!uris.isEmpty && uris.allSatisfy { $0.hasSuffix("?token=\(token)") }, "\(media)")
            let segment = String(uris[0].split(separator: "?")[0])
            #expect(try await server.fetch("/hls/live/signed/\(segment)").status == 403)
            #expect(try await server.fetch("/hls/live/signed/\(segment)?token=\(token)").status == 200)
            let lowLatency = String(decoding: try await server.fetch("/hls/live/signed/ll.m3u8?token=\(token)").body, as: UTF8.self)
            for tag in ["#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:"] {
                let lines = lowLatency.split(separator: "\n").filter { $0.hasPrefix(tag) }
                #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("?token=\(token)\"") }, "\(tag) in \(lowLatency)")
            }

            // Real readers need nothing but the signed URL.
            let probe = try await Tool("ffprobe").run(
                ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "\(server.httpBase)/hls/live/signed/index.m3u8?token=\(token)"],
                timeout: 60)
            // Probing reads segments, which refuse without the token: the codecs show only if the playlist carried it.
            #expect(Set(probe.text.split(separator: "\n").map(String.init)).isSuperset(of: ["h264", "aac"]), "\(probe.text)\(probe.stderr)")
            let client = try await Tool("python3").run(
                [LongRealTimeTests.LowLatencyHLSTests.scripts.appendingPathComponent("llhls_client.py").path,
                 "\(server.httpBase)/hls/live/signed/ll.m3u8?token=\(token)", "--seconds", "4"], timeout: 60, requireSuccess: false)
            let report = try JSONDecoder().decode(LongRealTimeTests.LowLatencyHLSTests.ClientReport.self, from: Data(client.text.utf8))
            #expect(report.errors.isEmpty && report.parts >= 10 && report.blocking_reloads > 0, "\(client.text)")

            // An app-wide token admits the stream too; HTTP-FLV and RTMP play take the same tokens.
            let appToken = try await Self.sign("live")
            #expect(try await server.fetch("/hls/live/signed/index.m3u8?token=\(appToken)").status == 200)
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let curl = try await Tool("curl").run(
                ["-s", "-m", "2", "-o", directory.path + "/v.flv", "-w", "%{http_code}", "\(server.httpBase)/live/signed.flv?token=\(token)"],
                timeout: 30, requireSuccess: false)
            #expect(curl.text.hasPrefix("200"))
            let played = try await Tool("python3").run(
                [RTMPPlayTests.client, "\(server.rtmpBase)/live/signed?token=\(token)", "--seconds", "10", "--until-status", "NetStream.Play.Start"],
                timeout: 40)
            #expect(try JSONDecoder().decode(RTMPPlayTests.Play.self, from: Data(played.text.utf8)).statuses.map(\.code).contains("NetStream.Play.Start"))
            let refused = try await Tool("python3").run(
                [RTMPPlayTests.client, "\(server.rtmpBase)/live/signed", "--seconds", "10", "--until-status", "NetStream.Play.Failed"], timeout: 40)
            let failed = try JSONDecoder().decode(RTMPPlayTests.Play.self, from: Data(refused.text.utf8)).statuses.first { $0.code == "NetStream.Play.Failed" }
            #expect(failed?.description?.contains("?token= is missing") == true)
        }
    }

    @Test func onlyTheListedAppsAreSigned() async throws {
        try await withServer(configure: {
            $0.playbackSigningSecret = Self.secret
            $0.playbackSigningApps = ["paid"]
        }) { server in
            let free = try await server.publishLive(StreamPath("live/free")!, loops: 1)
            let paid = try await server.publishLive(StreamPath("paid/show")!, loops: 1)
            defer { free.cancel(); paid.cancel() }
            let token = try await Self.sign("paid/show")
            try await server.eventually("both playlists") {
                let free = try await server.fetch("/hls/live/free/index.m3u8").status
                let paid = try await server.fetch("/hls/paid/show/index.m3u8?token=\(token)").status
                return free == 200 && paid == 200
            }
            let open = String(decoding: try await server.fetch("/hls/live/free/index.m3u8").body, as: UTF8.self)
            #expect(!open.contains("token="), "an unsigned app's playlist is left as it is")
            #expect(try await server.fetch("/hls/paid/show/index.m3u8").status == 403)
        }
    }

    @Test func theSignCommandExplainsItself() async throws {
        let missing = try await Tool(CLITests.binary).run(["sign", "live/shop1"], requireSuccess: false)
        #expect(missing.status != 0 && missing.stderr.contains("no playback-signing-secret"))
        // Malformed arguments: a usage error of `sign` itself (exit 64, its own usage line).
        for arguments in [["sign", "live/../x", "--secret", Self.secret], ["sign", "live/shop1", "--ttl", "0", "--secret", Self.secret]] {
            let bad = try await Tool(CLITests.binary).run(arguments, requireSuccess: false)
            #expect(bad.status == 64 && bad.stderr.contains("Usage: cuecast sign"), "\(arguments): \(bad.stderr)")
        }
        let urls = try await Tool(CLITests.binary).run(["sign", "live/shop1", "--ttl", "60", "--secret", Self.secret, "--public-host", "cdn.example"]).text
        for expected in ["http://cdn.example:8080/hls/live/shop1/ll.m3u8?token=", "http://cdn.example:8080/live/shop1.flv?token=",
                         "rtmp://cdn.example:1935/live/shop1?token=", "/watch/live/shop1?token="] {
            #expect(urls.contains(expected), "\(urls)")
        }
    }
}

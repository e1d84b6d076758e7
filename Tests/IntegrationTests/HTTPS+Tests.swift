import Foundation
import Media
import Server
import Testing
import TestSupport

/// HTTPS on the HTTP port (`https on`, with the RTMPS certificate): curl verifies the chain and reads the API, both
/// playlists, segments whole and in ranges, a blocking low-latency reload and HTTP-FLV; ffprobe plays the stream over
/// HTTPS; plain HTTP on that port gets no answer; TLS 1.2 is the floor; a reload changes the certificate that new
/// connections see.
@Suite struct HTTPSTests {
    static func withHTTPSServer(_ body: (TestServer, String) async throws -> Void) async throws {
        try await RTMPSTests.withTLSServer(https: true) { server, certs, _ in try await body(server, certs) }
    }

    /// curl over HTTPS, trusting the test's CA: (exit status, body, HTTP status).
    static func curl(_ server: TestServer, certs: String, _ path: String, _ extra: [String] = [], output: String? = nil) async throws
        -> (exit: Int32, body: [UInt8], status: Int)
    {
        let result = try await Tool("curl").run(
            ["-s", "--max-time", "20", "--cacert", "\(certs)/ca.pem", "-w", "\n%{http_code}", "-o", output ?? "-"] + extra
                + ["https://localhost:\(server.httpPort)\(path)"], timeout: 60, requireSuccess: false)
        var bytes = Array(result.stdout)
        let statusLine = bytes.lastIndex(of: UInt8(ascii: "\n")).map { Array(bytes[($0 + 1)...]) } ?? []
        if let newline = bytes.lastIndex(of: UInt8(ascii: "\n")) { bytes.removeSubrange(newline...) }
        return (result.status, bytes, Int(String(decoding: statusLine, as: UTF8.self)) ?? 0)
    }

    @Test func everyPlaybackPathWorksOverHTTPS() async throws {
        try await Self.withHTTPSServer { server, certs in
            let path = StreamPath("live/secure")!
            let publish = try await server.publishLive(path, loops: 5)
            defer { publish.cancel() }
            var playlist = ""
            try await server.eventually(timeout: 30, "a segment over HTTPS") {
                let answer = try await Self.curl(server, certs: certs, "/hls/live/secure/index.m3u8")
                playlist = String(decoding: answer.body, as: UTF8.self)
                return answer.status == 200 && playlist.contains("#EXTINF")
            }
            // The API, with its token.
            let api = try await Self.curl(server, certs: certs, "/api/v1/streams", ["-H", "Authorization: Bearer \(server.server.adminToken)"])
            #expect(api.status == 200 && String(decoding: api.body, as: UTF8.self).contains("live/secure"), "\(api)")

            // A whole segment (read into memory for TLS, not sent with sendfile) that ffprobe decodes, and a range of it.
            let uri = try #require(playlist.split(separator: "\n").first { $0.hasSuffix(".ts") })
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let segment = try await Self.curl(server, certs: certs, "/hls/live/secure/\(uri)", ["-D", "\(directory.path)/headers"], output: "\(directory.path)/segment.ts")
            #expect(segment.exit == 0 && segment.status == 200)
            let size = try FileManager.default.attributesOfItem(atPath: "\(directory.path)/segment.ts")[.size] as? Int ?? 0
            let headers = try String(contentsOfFile: "\(directory.path)/headers", encoding: .utf8).lowercased()
            #expect(size > 10_000 && headers.contains("content-length: \(size)\r\n"), "\(size) \(headers)")
            let frames = try await Tool("ffprobe").run([
                "-v", "error", "-select_streams", "v", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                "\(directory.path)/segment.ts",
            ]).text.split(separator: "\n").first.map(String.init) ?? ""  // MPEG-TS: the stream again under its program
            #expect((Int(frames) ?? 0) > 10, "frames decoded: \(frames)")
            let range = try await Self.curl(server, certs: certs, "/hls/live/secure/\(uri)", ["-H", "Range: bytes=188-375"])
            let whole = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/segment.ts"))
            #expect(range.status == 206 && range.body == Array(whole[188..<376]))

            // A blocking low-latency reload is held, then answered with the segment asked for.
            let low = String(decoding: try await Self.curl(server, certs: certs, "/hls/live/secure/ll.m3u8").body, as: UTF8.self)
            let sequence = Int(low.components(separatedBy: "#EXT-X-MEDIA-SEQUENCE:").dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
            let next = sequence + low.components(separatedBy: "#EXTINF").count
            let held = try await Self.curl(server, certs: certs, "/hls/live/secure/ll.m3u8?_HLS_msn=\(next)")
            let heldText = String(decoding: held.body, as: UTF8.self)
            #expect(held.status == 200 && heldText.contains("#EXT-X-PART"), "\(held.status) \(heldText.prefix(300))")

            // HTTP-FLV: a few seconds of it, which ffprobe reads.
            _ = try await Self.curl(server, certs: certs, "/live/secure.flv", ["--max-time", "3"], output: "\(directory.path)/live.flv")
            let flv = try Data(contentsOf: URL(fileURLWithPath: "\(directory.path)/live.flv"))
            #expect(flv.starts(with: Array("FLV".utf8)) && flv.count > 10_000, "\(flv.count) bytes")
            let streams = try await Tool("ffprobe").run(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "\(directory.path)/live.flv"]).text
            #expect(streams.contains("h264") && streams.contains("aac"), "\(streams)")

            // A player over HTTPS: ffprobe reads the playlist and its segments.
            let probed = try await Tool("ffprobe").run([
                "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "https://localhost:\(server.httpPort)/hls/live/secure/index.m3u8",
            ], timeout: 60).text
            #expect(probed.contains("h264") && probed.contains("aac"), "\(probed)")

            // Verification is real: trusting only the system's roots, curl refuses the certificate (60: peer not verified).
            let untrusted = try await Tool("curl").run(["-s", "--max-time", "20", "https://localhost:\(server.httpPort)/healthz"], requireSuccess: false)
            #expect(untrusted.status == 60)
            // Plain HTTP on the HTTPS port gets no HTTP answer.
            let plain = try await Tool("curl").run(
                ["-s", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.httpPort)/healthz"], requireSuccess: false)
            #expect(plain.status != 0 && plain.text == "000", "curl \(plain.status) \(plain.text)")
        }
    }

    @Test func tlsOneTwoIsTheFloorAndAReloadChangesTheCertificate() async throws {
        try await Self.withHTTPSServer { server, certs in
            let port = server.httpPort
            let old = try await Tool("sh").run(["-c", "openssl s_client -connect 127.0.0.1:\(port) -tls1_1 </dev/null 2>&1"], requireSuccess: false)
            #expect(old.status != 0 && old.text.contains("alert protocol version"), "\(old.text.suffix(400))")
            let twelve = try await Tool("sh").run(["-c", "openssl s_client -connect 127.0.0.1:\(port) -tls1_2 </dev/null 2>&1"], requireSuccess: false)
            #expect(twelve.text.contains("Protocol  : TLSv1.2") || twelve.text.contains("TLSv1.2"), "\(twelve.text.suffix(400))")

            #expect(try await RTMPSTests.servedSerial(port: port) == (try await RTMPSTests.fileSerial("\(certs)/server.pem")))
            try await TestCertificates.make(in: certs, name: "next")
            for suffix in ["pem", "key"] {
                try FileManager.default.removeItem(atPath: "\(certs)/server.\(suffix)")
                try FileManager.default.copyItem(atPath: "\(certs)/next.\(suffix)", toPath: "\(certs)/server.\(suffix)")
            }
            server.server.reloadCertificate()
            #expect(try await RTMPSTests.servedSerial(port: port) == (try await RTMPSTests.fileSerial("\(certs)/next.pem")))
            // And the new certificate verifies: a request still gets its answer.
            #expect(try await Self.curl(server, certs: certs, "/healthz").status == 200)
        }
    }

    @Test func httpsWithoutACertificateStopsTheStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = ServerConfiguration()
        configuration.dataDir = directory.path
        configuration.https = true
        #expect {
            _ = try CueCastServer(configuration: configuration, logger: .init(label: "test"))
        } throws: { error in
            "\(error)".contains("https") && "\(error)".contains("tls-certificate")
        }
    }
}

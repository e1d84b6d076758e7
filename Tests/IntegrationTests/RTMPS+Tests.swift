import Foundation
import Media
import Server
import Testing
import TestSupport

/// RTMPS ingest with a CA the test makes: ffmpeg verifies the chain and publishes losslessly, GStreamer publishes,
/// `openssl s_client` sees TLS 1.2 as the floor, and a reload changes the certificate for new connections while a
/// live publish goes on.
@Suite struct RTMPSTests {
    /// A server with a certificate from a test CA (RTMPS on a port of its own; `https`: HTTPS on the HTTP port too).
    static func withTLSServer(https: Bool = false, _ body: (TestServer, String, Int) async throws -> Void) async throws {
        let certs = try TemporaryDirectory()
        defer { certs.remove() }
        try await TestCertificates.make(in: certs.path)
        try await withServer(configure: {
            $0.tlsCertificate = "\(certs.path)/server.pem"
            $0.tlsKey = "\(certs.path)/server.key"
            $0.rtmpsPort = 0
            $0.https = https
            $0.hls.gracePeriod = 1
        }) { server in
            let port = try #require(server.server.ports.rtmps)
            try await body(server, certs.path, port)
        }
    }

    /// The serial of the certificate a fresh TLS connection to `port` is shown, as openssl prints it.
    static func servedSerial(port: Int) async throws -> String {
        let output = try await Tool("sh").run(["-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func fileSerial(_ path: String) async throws -> String {
        try await Tool("openssl").run(["x509", "-in", path, "-noout", "-serial"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func ffmpegVerifiesTheChainAndPublishesLosslessly() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        try await Self.withTLSServer { server, certs, port in
            let secret = try await server.server.keys.add(stream: "live/tls1")
            let recording = server.record(StreamPath("live/tls1")!)
            let output = try await Tool("ffmpeg").run([
                "-hide_banner", "-loglevel", "error", "-nostdin", "-i", Fixtures.path(Fixtures.bframes), "-c", "copy",
                "-tls_verify", "1", "-ca_file", "\(certs)/ca.pem", "-f", "flv", "rtmps://localhost:\(port)/live/tls1?key=\(secret)",
            ], timeout: 60, requireSuccess: false)
            #expect(output.status == 0, "\(output.stderr)")
            expectLossless(await recording.value, facts)
            // The same ffmpeg trusting only the system's roots refuses the test CA's certificate: verification is real.
            let untrusted = try await Tool("ffmpeg").run([
                "-hide_banner", "-loglevel", "error", "-nostdin", "-t", "1", "-i", Fixtures.path(Fixtures.bframes), "-c", "copy",
                "-tls_verify", "1", "-ca_file", "/etc/ssl/certs/ca-certificates.crt", "-f", "flv", "rtmps://localhost:\(port)/live/tls1?key=\(secret)",
            ], timeout: 60, requireSuccess: false)
            #expect(untrusted.status != 0)
            // Plain RTMP goes on beside RTMPS.
            let plain = try await server.publishLive(StreamPath("live/plain")!, loops: 0)
            _ = try await plain.value
        }
    }

    @Test func gstreamerPublishesOverRTMPS() async throws {
        try await Self.withTLSServer { server, _, port in
            let secret = try await server.server.keys.add(stream: "live/gst-tls")
            let recording = server.record(StreamPath("live/gst-tls")!)
            // GIO's TLS reads only the system trust store, so GStreamer publishes without validation here.
            let output = try await Tool("gst-launch-1.0").run(
                ["-q"] + GStreamerPublishTests.pipeline(sink: "rtmp2sink location=rtmps://127.0.0.1:\(port)/live/gst-tls?key=\(secret) tls-validation-flags=0"),
                timeout: 60, requireSuccess: false)
            #expect(output.status == 0, "\(output.stderr)")
            let events = await recording.value
            #expect(events.frames(.video).count == 180)
            #expect(server.logs.all.contains { $0.contains("publish started") && $0.contains("live/gst-tls") })
        }
    }

    @Test func tls12IsTheFloorAndTheChainVerifies() async throws {
        try await Self.withTLSServer { _, certs, port in
            let modern = try await Tool("sh").run([
                "-c", "openssl s_client -brief -CAfile \(certs)/ca.pem -verify_return_error -servername localhost -connect 127.0.0.1:\(port) </dev/null 2>&1",
            ], requireSuccess: false)
            #expect(modern.text.contains("Verification: OK"), "\(modern.text)")
            #expect(modern.text.contains("Protocol version: TLSv1.3"))
            let tls12 = try await Tool("sh").run(["-c", "openssl s_client -brief -tls1_2 -connect 127.0.0.1:\(port) </dev/null 2>&1"], requireSuccess: false)
            #expect(tls12.text.contains("Protocol version: TLSv1.2"), "\(tls12.text)")
            // The client is told to allow TLS 1.1; the server answers with a protocol_version alert.
            let tls11 = try await Tool("sh").run([
                "-c", "openssl s_client -brief -tls1_1 -cipher DEFAULT@SECLEVEL=0 -connect 127.0.0.1:\(port) </dev/null 2>&1",
            ], requireSuccess: false)
            #expect(tls11.text.contains("alert protocol version"), "\(tls11.text)")
        }
    }

    @Test func aReloadServesTheNewCertificateAndKeepsLivePublishes() async throws {
        try await Self.withTLSServer { server, certs, port in
            let path = StreamPath("live/reload")!
            let secret = try await server.server.keys.add(stream: path.description)
            let publish = Task {
                try await Tool("ffmpeg").run([
                    "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "1", "-i", Fixtures.path(Fixtures.bframes),
                    "-c", "copy", "-f", "flv", "rtmps://127.0.0.1:\(port)/live/reload?key=\(secret)",
                ], timeout: 90)
            }
            try await server.eventually("publish live over RTMPS") { server.server.hub.stream(path) != nil }
            let live = try #require(server.server.hub.stream(path))
            #expect(try await Self.servedSerial(port: port) == (try await Self.fileSerial("\(certs)/server.pem")))

            try await TestCertificates.make(in: certs, name: "next")
            try FileManager.default.removeItem(atPath: "\(certs)/server.pem")
            try FileManager.default.removeItem(atPath: "\(certs)/server.key")
            try FileManager.default.copyItem(atPath: "\(certs)/next.pem", toPath: "\(certs)/server.pem")
            try FileManager.default.copyItem(atPath: "\(certs)/next.key", toPath: "\(certs)/server.key")
            let framesBefore = live.counters.videoFrames
            server.server.reloadCertificate()
            let next = try await Self.fileSerial("\(certs)/next.pem")
            #expect(try await Self.servedSerial(port: port) == next)
            #expect(server.logs.contains("certificate reloaded"))

            // A file that does not load leaves the new certificate in place.
            try "not a certificate".write(toFile: "\(certs)/server.pem", atomically: true, encoding: .utf8)
            server.server.reloadCertificate()
            #expect(server.logs.contains("certificate not reloaded; the previous one stays in use"))
            #expect(try await Self.servedSerial(port: port) == next)

            // The publish that shook hands with the old certificate never noticed.
            try await server.eventually("frames keep arriving") { live.counters.videoFrames > framesBefore + 30 }
            #expect(server.server.hub.stream(path)?.publish == live.publish)
            _ = try await publish.value
        }
    }

    @Test func certificateSettingsAreCheckedAtStart() async throws {
        let certs = try TemporaryDirectory()
        defer { certs.remove() }
        try await TestCertificates.make(in: certs.path)
        try await TestCertificates.make(in: certs.path, name: "other")
        func failure(_ change: (inout ServerConfiguration) -> Void) -> String {
            var configuration = ServerConfiguration()
            configuration.dataDir = certs.path + "/data"
            change(&configuration)
            do {
                _ = try CueCastServer(configuration: configuration, logger: .init(label: "test"))
                return "started"
            } catch {
                return "\(error)"
            }
        }
        #expect(failure { $0.tlsCertificate = "\(certs.path)/server.pem" }.contains("set both or neither"))
        #expect(failure { $0.tlsCertificate = "\(certs.path)/ca.key"; $0.tlsKey = "\(certs.path)/server.key" }.contains("not a readable PEM certificate"))
        #expect(failure { $0.tlsCertificate = "\(certs.path)/server.pem"; $0.tlsKey = "\(certs.path)/nope.key" }.contains("not a readable PEM private key"))
        #expect(failure { $0.tlsCertificate = "\(certs.path)/server.pem"; $0.tlsKey = "\(certs.path)/other.key" }.contains("does not match"))
        #expect(failure { $0.tlsCertificate = "\(certs.path)/server.pem"; $0.tlsKey = "\(certs.path)/server.key" } == "started")
    }
}

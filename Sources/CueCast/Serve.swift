import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Server

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: RTMP ingest, HLS, RTMP play, HTTP-FLV and the HTTP API.",
        discussion: """
            Settings come from, in rising precedence: defaults, --config FILE (a JSON object whose keys are the \
            flag names, e.g. {"rtmp-port": 1935}), CUECAST_* environment variables (CUECAST_RTMP_PORT, …), flags.

            The API needs `Authorization: Bearer <admin token>`. The token is CUECAST_ADMIN_TOKEN, or is generated \
            on first start, stored in <data-dir>/admin-token and printed.
            """)

    @Option(help: "RTMP listen port (default 1935).") var rtmpPort: Int?
    @Option(help: "HTTP listen port (default 8080).") var httpPort: Int?
    @Option(help: "Directory for the SQLite database and admin token (default ./data).") var dataDir: String?
    @Option(help: "JSON config file whose keys are the flag names, e.g. {\"rtmp-port\": 1935}.") var config: String?
    @Option(help: "Host name used in printed publish and playback URLs (default localhost).") var publicHost: String?
    @Option(help: "Seconds to finish the RTMP handshake (default 10).") var handshakeTimeout: Int?
    @Option(help: "Seconds without data before an RTMP connection is closed (default 30).") var idleTimeout: Int?
    @Option(help: """
        Milliseconds of a publisher's stream the kernel gathers before waking the server, 0 to 100: more means \
        fewer wake-ups and less CPU per stream, while a small frame may wait for the next one; 0 wakes on every \
        byte, for the lowest delay (default 30).
        """)
    var publishGatherMs: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info).") var logLevel: String?
    @Option(help: "Target HLS segment duration in seconds; segments end at the next keyframe (default 2).")
    var hlsSegmentDuration: Double?
    @Option(help: "Segments in a live HLS playlist (default 6).") var hlsWindow: Int?
    @Option(help: "Also make the CMAF rendition for Low-Latency HLS, ll.m3u8: on or off (default on).") var hlsLowLatency: String?
    @Option(help: "Low-Latency HLS part target in seconds, 0.1 to 1; parts end on frame boundaries (default 0.2).")
    var hlsPartDuration: Double?
    @Option(help: "Also write HLS segments and playlists under this directory.") var hlsDir: String?
    @Option(help: "Seconds a playlist stays live after its publisher leaves (default 10).") var hlsGrace: Double?
    @Option(help: "Seconds an ended playlist stays available (default 600).") var hlsRetention: Double?
    @Option(help: "Access-Control-Allow-Origin for HLS and HTTP-FLV responses (default *).") var corsOrigin: String?
    @Option(help: "Most RTMP players plus HTTP-FLV viewers of one stream (default 1000).") var maxViewersPerStream: Int?
    @Option(help: "Most RTMP players plus HTTP-FLV viewers in total (default 10000).") var maxViewers: Int?
    @Option(help: "Seconds a player or HTTP-FLV viewer may stay behind before it is closed (default 10).") var viewerMaxLag: Int?
    @Option(help: "Address both listeners bind (default 0.0.0.0, every interface).") var host: String?
    @Option(help: "Per-stream statistics, on or off; off only to measure what they cost (default on).") var stats: String?
    @Option(help: "Keep each stream's current GOP so RTMP players, HTTP-FLV viewers and pushes start at once: on or off (default on; off saves about one GOP of memory a stream, and they wait for the next keyframe).")
    var gopCache: String?
    @Option(help: "PEM CA bundle trusted for rtmps:// push targets besides the system's (or CUECAST_PUSH_CA_FILE).") var pushCAFile: String?
    @Option(help: "PEM certificate chain for RTMPS ingest and play; with --tls-key. Reloaded on SIGHUP.") var tlsCertificate: String?
    @Option(help: "PEM private key of --tls-certificate.") var tlsKey: String?
    @Option(help: "RTMPS listen port, used when a certificate is set (default 1936).") var rtmpsPort: Int?
    @Option(help: "on: the HTTP port speaks HTTPS only, with --tls-certificate (Safari's native LL-HLS wants it; default off).")
    var https: String?
    @Option(help: "URL POSTed before each publish and play, and when they end; anything but a 2xx refuses (see README, Security).")
    var onPublishUrl: String?
    @Option(help: "Key signing hook requests (X-CueCast-Signature); prefer CUECAST_HOOK_SECRET, which ps does not show.") var hookSecret: String?
    @Option(help: "Seconds a hook has to answer before the publish or play is refused (default 3).") var hookTimeout: Double?
    @Option(help: "HMAC key of signed playback URLs (prefer CUECAST_PLAYBACK_SIGNING_SECRET); see `cuecast sign`.")
    var playbackSigningSecret: String?
    @Option(help: "Comma-separated apps whose playback is signed (default: every app).") var playbackSigningApps: String?
    @Option(help: "Seconds SIGTERM may take to tell clients, end playlists and finish responses (default 10).") var shutdownTimeout: Double?
    @Option(help: "Failed publishes (unknown key) a client address may make per minute, and at once (default 10).")
    var publishFailuresPerMinute: Int?
    @Option(help: "Cues per second a stream may get, on average (default 10).") var cueRate: Double?
    @Option(help: "Cues a stream may get at once above --cue-rate (default 20).") var cueBurst: Double?
    @Option(help: """
        hls.js for the viewer page (/watch): an http(s) URL, or a local file CueCast serves at /assets/hls.js, for \
        networks where jsDelivr is slow or blocked (default: hls.js 1 from jsDelivr).
        """)
    var hlsjs: String?

    func run() async throws {
        Self.tuneAllocator()
        var settings = ServerConfiguration()
        do {
            if let config { try settings.apply(configFile: config) }
            try settings.apply(environment: ProcessInfo.processInfo.environment)
            let flags: [(String, String?)] = [
                ("rtmp-port", rtmpPort.map(String.init)), ("http-port", httpPort.map(String.init)),
                ("data-dir", dataDir), ("public-host", publicHost),
                ("handshake-timeout", handshakeTimeout.map(String.init)),
                ("idle-timeout", idleTimeout.map(String.init)), ("log-level", logLevel),
                ("publish-gather-ms", publishGatherMs.map(String.init)),
                ("hls-segment-duration", hlsSegmentDuration.map { String($0) }), ("hls-window", hlsWindow.map(String.init)),
                ("hls-low-latency", hlsLowLatency), ("hls-part-duration", hlsPartDuration.map { String($0) }),
                ("hls-dir", hlsDir), ("hls-grace", hlsGrace.map { String($0) }),
                ("hls-retention", hlsRetention.map { String($0) }), ("cors-origin", corsOrigin),
                ("rtmp-host", host), ("http-host", host), ("stats", stats), ("gop-cache", gopCache),
                ("max-viewers-per-stream", maxViewersPerStream.map(String.init)), ("max-viewers", maxViewers.map(String.init)),
                ("viewer-max-lag", viewerMaxLag.map(String.init)), ("push-ca-file", pushCAFile),
                ("tls-certificate", tlsCertificate), ("tls-key", tlsKey), ("rtmps-port", rtmpsPort.map(String.init)),
                ("https", https),
                ("on-publish-url", onPublishUrl), ("hook-secret", hookSecret), ("hook-timeout", hookTimeout.map { String($0) }),
                ("publish-failures-per-minute", publishFailuresPerMinute.map(String.init)),
                ("shutdown-timeout", shutdownTimeout.map { String($0) }),
                ("cue-rate", cueRate.map { String($0) }), ("cue-burst", cueBurst.map { String($0) }),
                ("playback-signing-secret", playbackSigningSecret), ("playback-signing-apps", playbackSigningApps),
                ("hlsjs", hlsjs),
            ]
            for (name, value) in flags {
                if let value { try settings.set(name, to: value) }
            }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }

        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cuecast")
        let tokenWasCreated = !FileManager.default.fileExists(atPath: (settings.dataDir as NSString).appendingPathComponent(AdminToken.fileName)) && settings.adminToken == nil
        let eventLoops = EventLoopCount.configure()
        let openFiles = OpenFileLimit.raise()
        let server = try CueCastServer(configuration: settings, logger: logger)
        if tokenWasCreated {
            say("Admin token (stored in \(settings.dataDir)/\(AdminToken.fileName)): \(server.adminToken)")
        }
        say("RTMP ingest:  \(server.rtmpBaseURL)/<app>   (stream key from `cuecast keys add <app>/<name>`)")
        if server.certificate != nil {
            say("RTMPS ingest: rtmps://\(settings.publicHost):\(settings.rtmpsPort)/<app>   (same keys; certificate reloads on SIGHUP)")
        }
        if let hook = settings.onPublishURL { say("Publish hook: \(hook)   (every publish and play is asked first)") }
        let web = settings.https ? "https" : "http"
        say("HTTP API:     \(web)://\(settings.publicHost):\(settings.httpPort)/api/v1/streams")
        say("HLS:          \(web)://\(settings.publicHost):\(settings.httpPort)/hls/<app>/<stream>/index.m3u8   Low-Latency HLS: ll.m3u8")
        say("Play (~1 s):  \(server.rtmpBaseURL)/<app>/<stream>   HTTP-FLV: \(web)://\(settings.publicHost):\(settings.httpPort)/<app>/<stream>.flv")
        say("Console:      \(web)://\(settings.publicHost):\(settings.httpPort)/console   Viewer page: /watch/<app>/<stream>")
        say("Event loops:  \(eventLoops) (one per CPU this process may run on)")
        if let openFiles {
            let perStream = OpenFileLimit.filesPerStream(lowLatency: settings.hls.lowLatency)
            let streams = openFiles == Int.max ? "no limit" : "about \(openFiles / (perStream + 2)) live streams"
            say("Open files:   \(openFiles == Int.max ? "unlimited" : String(openFiles)) (\(perStream) per live stream's segments: \(streams))")
        }
        if !settings.statistics { say("Statistics are off (--stats off): no rates, counts or stats feed.") }
        if !settings.gopCache { say("GOP cache off (--gop-cache off): players, HTTP-FLV viewers and pushes start at the next keyframe.") }
        try await server.run()
    }

    /// Writes a line straight to stdout: `print` would sit in a buffer while the server runs with stdout redirected.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Segments are large (hundreds of KB) and NIO rounds buffers up to a power of two. With glibc's adaptive
    /// mmap threshold they end up in heap arenas, where the unused tail of every buffer and every freed segment
    /// stay resident: measured 7 MB per extra stream beyond its segment window at 50 publishers. A fixed threshold
    /// keeps them in their own mappings, so only written pages count and freed ones go back at once.
    static func tuneAllocator() {
        #if canImport(Glibc)
        // mallopt is not in the Glibc module map; M_MMAP_THRESHOLD is -3 in <malloc.h>.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 128 * 1024)
        #endif
    }
}

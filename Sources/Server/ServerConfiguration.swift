import Foundation
import Logging
import PlaybackSigning
import RTMP
import Remux
import Cueing
import StreamHub
import Web

/// Everything `cuecast serve` can be told, with production defaults.
///
/// Values come from, in rising precedence: these defaults, a JSON config file, `CUECAST_*` environment
/// variables, command-line flags. Names are the same everywhere: flag `--rtmp-port`, key `"rtmp-port"`,
/// variable `CUECAST_RTMP_PORT`.
public struct ServerConfiguration: Sendable, Equatable {
    public var rtmpHost = "0.0.0.0"
    public var rtmpPort = 1935
    public var httpHost = "0.0.0.0"
    public var httpPort = 8080
    public var dataDir = "./data"
    /// Host name printed in publish and playback URLs.
    public var publicHost = "localhost"
    public var adminToken: String?
    public var handshakeTimeout = 10
    public var idleTimeout = 30
    /// Milliseconds of a publisher's stream gathered per wake-up (`ReceiveLowWatermark`); 0 wakes on every byte.
    public var publishGatherMilliseconds = ReceiveLowWatermark.defaultMilliseconds
    /// RTMP's own limit (2³¹−1): accepting a large chunk size costs nothing while messages stay bounded.
    public var maxChunkSize = 0x7FFF_FFFF
    public var maxMessageSize = 8 << 20
    public var maxChunkStreams = 64
    /// RTMP players and HTTP-FLV viewers: how many, and how far behind each may fall.
    public var viewers = ViewerLimits()
    public var logLevel = Logger.Level.info
    public var hls = HLSConfiguration()
    /// `Access-Control-Allow-Origin` for HLS responses.
    public var corsOrigin = "*"
    public var cues = CueService.Configuration()
    /// Per-stream statistics (counters and the 1 s sampler); off only to measure their cost.
    public var statistics = true
    /// Whether each stream keeps its current GOP, so RTMP players, HTTP-FLV viewers and pushes start at once
    /// (off: they wait for the next keyframe, and each stream holds about one GOP less memory).
    public var gopCache = true
    /// A PEM CA bundle trusted for `rtmps://` push targets besides the system's roots.
    public var pushCAFile: String?
    /// The admission hook: POSTed on publish, publish_done, play and play_done when set.
    public var onPublishURL: String?
    /// PEM certificate chain and private key for RTMPS; RTMPS listens on `rtmpsPort` when both are set.
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var rtmpsPort = 1936
    /// Whether the HTTP port speaks HTTPS, with `tlsCertificate` (Safari's native LL-HLS wants HTTPS).
    public var https = false
    /// Signed playback: the HMAC key, and the apps it applies to (nil: every app).
    public var playbackSigningSecret: String?
    public var playbackSigningApps: Set<String>?
    public var playbackSigner: PlaybackSigner? {
        playbackSigningSecret.map { PlaybackSigner(secret: $0, apps: playbackSigningApps) }
    }
    /// Seconds a graceful shutdown (SIGTERM) may take before what is left is cancelled.
    public var shutdownTimeout = 10.0
    /// HMAC-SHA256 key signing hook requests (`X-CueCast-Signature`).
    public var hookSecret: String?
    /// Seconds a hook has to answer `publish` or `play` before the client is refused.
    public var hookTimeout = 3.0
    /// Failed publishes (unknown key) a client address may make per minute, and at once.
    public var publishFailuresPerMinute = 10
    /// hls.js for the viewer page: an http(s) URL, or a local file the server serves at `/assets/hls.js`.
    public var hlsjs = PageRoutes.hlsjsCDN

    public init() {}

    /// Every setting: its name, what it means, and how to apply a textual value.
    public static let settings: [Setting] = [
        Setting("rtmp-host", "address the RTMP listener binds") { $0.rtmpHost = $1 },
        Setting("rtmp-port", "RTMP listen port") { $0.rtmpPort = try port($1) },
        Setting("http-host", "address the HTTP server binds") { $0.httpHost = $1 },
        Setting("http-port", "HTTP listen port") { $0.httpPort = try port($1) },
        Setting("data-dir", "directory for the SQLite database and the admin token") { $0.dataDir = $1 },
        Setting("public-host", "host name used in printed URLs") { $0.publicHost = $1 },
        Setting("admin-token", "bearer token for the API (generated and stored in the data dir if unset)") {
            $0.adminToken = $1
        },
        Setting("handshake-timeout", "seconds a client has to finish the RTMP handshake") {
            $0.handshakeTimeout = try positive($1, "handshake-timeout")
        },
        Setting("idle-timeout", "seconds without data before an RTMP connection is closed") {
            $0.idleTimeout = try positive($1, "idle-timeout")
        },
        Setting(
            "publish-gather-ms",
            "milliseconds of a publisher's stream the kernel gathers before waking the server (\(ReceiveLowWatermark.millisecondsRange.lowerBound) to \(ReceiveLowWatermark.millisecondsRange.upperBound); more: fewer wake-ups and less CPU, a small frame waiting for the next; 0 wakes on every byte)"
        ) {
            guard let value = Int($1), ReceiveLowWatermark.millisecondsRange.contains(value) else {
                throw ConfigurationError.invalid("publish-gather-ms", $1)
            }
            $0.publishGatherMilliseconds = value
        },
        Setting("max-chunk-size", "largest RTMP chunk size a peer may set, bytes") {
            $0.maxChunkSize = try positive($1, "max-chunk-size")
        },
        Setting("max-message-size", "largest RTMP message accepted, bytes") {
            $0.maxMessageSize = try positive($1, "max-message-size")
        },
        Setting("max-chunk-streams", "most chunk streams one RTMP connection may open") {
            $0.maxChunkStreams = try positive($1, "max-chunk-streams")
        },
        Setting("max-viewers-per-stream", "most RTMP players plus HTTP-FLV viewers of one stream") {
            $0.viewers.perStream = try positive($1, "max-viewers-per-stream")
        },
        Setting("max-viewers", "most RTMP players plus HTTP-FLV viewers in total") {
            $0.viewers.total = try positive($1, "max-viewers")
        },
        Setting("viewer-max-lag", "seconds an RTMP player or HTTP-FLV viewer may stay behind before it is closed") {
            $0.viewers.maxLagSeconds = try positive($1, "viewer-max-lag")
        },
        Setting("hls-segment-duration", "target HLS segment duration in seconds (cut at the next keyframe)") {
            $0.hls.segmentDuration = try positiveDouble($1, "hls-segment-duration")
        },
        Setting("hls-window", "segments listed in a live playlist") { $0.hls.windowSize = try positive($1, "hls-window") },
        Setting("hls-low-latency", "also make the CMAF rendition for Low-Latency HLS (ll.m3u8), on or off") {
            switch $1 {
            case "on", "true", "1": $0.hls.lowLatency = true
            case "off", "false", "0": $0.hls.lowLatency = false
            default: throw ConfigurationError.invalid("hls-low-latency", $1)
            }
        },
        Setting("hls-part-duration", "Low-Latency HLS part target in seconds (0.1 to 1; parts end on frame boundaries)") {
            let seconds = try positiveDouble($1, "hls-part-duration")
            guard seconds >= 0.1, seconds <= 1 else { throw ConfigurationError.invalid("hls-part-duration", $1) }
            $0.hls.partDuration = seconds
        },
        Setting("hls-grace", "seconds a playlist stays live after its publisher leaves") {
            $0.hls.gracePeriod = try positiveDouble($1, "hls-grace")
        },
        Setting("hls-retention", "seconds an ended playlist stays available") {
            $0.hls.retention = try positiveDouble($1, "hls-retention")
        },
        Setting("hls-dir", "also write segments and playlists under this directory") { $0.hls.mirrorDirectory = $1 },
        Setting("cors-origin", "Access-Control-Allow-Origin for HLS (* or one origin)") { $0.corsOrigin = $1 },
        Setting("hlsjs", "hls.js for the viewer page: an http(s) URL, or a local file served at /assets/hls.js") {
            let isURL = URL(string: $1).map { ["http", "https"].contains($0.scheme ?? "") && $0.host != nil } ?? false
            guard isURL || FileManager.default.isReadableFile(atPath: $1) else {
                throw ConfigurationError.invalid("hlsjs", "\($1) (neither an http(s) URL nor a readable file)")
            }
            $0.hlsjs = $1
        },
        Setting("push-ca-file", "PEM CA bundle trusted for rtmps:// push targets, besides the system's") { $0.pushCAFile = $1 },
        Setting("tls-certificate", "PEM certificate chain for RTMPS (with tls-key; reloaded on SIGHUP)") { $0.tlsCertificate = $1 },
        Setting("tls-key", "PEM private key of tls-certificate") { $0.tlsKey = $1 },
        Setting("rtmps-port", "RTMPS listen port, used when tls-certificate and tls-key are set") { $0.rtmpsPort = try port($1) },
        Setting("https", "serve the HTTP port as HTTPS with tls-certificate, on or off") {
            switch $1 {
            case "on", "true", "1": $0.https = true
            case "off", "false", "0": $0.https = false
            default: throw ConfigurationError.invalid("https", $1)
            }
        },
        Setting("playback-signing-secret", "HMAC key of signed playback URLs: HLS, LL-HLS, HTTP-FLV and RTMP play need ?token=") {
            guard $1.count >= 16 else { throw ConfigurationError.invalid("playback-signing-secret", "at least 16 characters") }
            $0.playbackSigningSecret = $1
        },
        Setting("playback-signing-apps", "comma-separated apps whose playback is signed (default: every app)") {
            let apps = Set($1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            $0.playbackSigningApps = apps.isEmpty ? nil : apps
        },
        Setting("shutdown-timeout", "seconds SIGTERM may take to tell clients, end playlists and finish responses") {
            $0.shutdownTimeout = try positiveDouble($1, "shutdown-timeout")
        },
        Setting("on-publish-url", "http(s) URL asked before each publish and play (and told when they end); fail closed") {
            guard let url = URL(string: $1), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError.invalid("on-publish-url", $1)
            }
            $0.onPublishURL = $1
        },
        Setting("hook-secret", "key for the HMAC-SHA256 X-CueCast-Signature on hook requests") { $0.hookSecret = $1 },
        Setting("hook-timeout", "seconds a hook has to answer before the publish or play is refused") {
            $0.hookTimeout = try positiveDouble($1, "hook-timeout")
        },
        Setting("publish-failures-per-minute", "failed publishes (unknown key) per client address per minute, and at once") {
            $0.publishFailuresPerMinute = try positive($1, "publish-failures-per-minute")
        },
        Setting("cue-max-payload", "largest cue payload, bytes of serialised JSON") {
            $0.cues.maxPayloadBytes = try positive($1, "cue-max-payload")
        },
        Setting("cue-rate", "cues per second per stream, on average") { $0.cues.ratePerSecond = try positiveDouble($1, "cue-rate") },
        Setting("cue-burst", "cues a stream may send at once above the rate") { $0.cues.burst = try positiveDouble($1, "cue-burst") },
        Setting("stats", "per-stream statistics, on or off (off only to measure their cost: no rates, no counts)") {
            switch $1 {
            case "on", "true", "1": $0.statistics = true
            case "off", "false", "0": $0.statistics = false
            default: throw ConfigurationError.invalid("stats", $1)
            }
        },
        Setting("gop-cache", "keep each stream's current GOP so players and pushes start at once, on or off") {
            switch $1 {
            case "on", "true", "1": $0.gopCache = true
            case "off", "false", "0": $0.gopCache = false
            default: throw ConfigurationError.invalid("gop-cache", $1)
            }
        },
        Setting("log-level", "trace, debug, info, notice, warning, error or critical") {
            guard let level = Logger.Level(rawValue: $1) else { throw ConfigurationError.invalid("log-level", $1) }
            $0.logLevel = level
        },
    ]

    public struct Setting: Sendable {
        public let name: String
        public let help: String
        let apply: @Sendable (inout ServerConfiguration, String) throws -> Void

        init(_ name: String, _ help: String, _ apply: @escaping @Sendable (inout ServerConfiguration, String) throws -> Void) {
            self.name = name
            self.help = help
            self.apply = apply
        }

        public var environmentVariable: String {
            "CUECAST_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    /// Applies a setting by name.
    public mutating func set(_ name: String, to value: String) throws {
        guard let setting = Self.settings.first(where: { $0.name == name }) else { throw ConfigurationError.unknownKey(name) }
        try setting.apply(&self, value)
    }

    /// Reads a JSON object of settings; unknown keys are an error so typos do not pass silently.
    public mutating func apply(configFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigurationError.unreadableFile(path) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigurationError.malformedFile(path, "not valid JSON")
        }
        guard let settings = object as? [String: Any] else {
            throw ConfigurationError.malformedFile(path, "top level must be an object")
        }
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            let text: String
            switch value {
            case let string as String: text = string
            case let number as NSNumber: text = number.stringValue
            default: throw ConfigurationError.invalid(key, "\(value)")
            }
            try set(key, to: text)
        }
    }

    /// Applies every `CUECAST_*` variable that names a setting.
    public mutating func apply(environment: [String: String]) throws {
        for setting in Self.settings {
            if let value = environment[setting.environmentVariable] { try setting.apply(&self, value) }
        }
    }

    public var rtmpConnection: RTMPConnectionConfiguration {
        var connection = RTMPConnectionConfiguration()
        connection.handshakeTimeoutSeconds = Int64(handshakeTimeout)
        connection.idleTimeoutSeconds = Int64(idleTimeout)
        connection.gatherMilliseconds = publishGatherMilliseconds
        connection.chunkLimits = ChunkLimits(
            maxChunkSize: maxChunkSize, maxMessageSize: maxMessageSize, maxChunkStreams: maxChunkStreams)
        return connection
    }

    static func port(_ text: String) throws -> Int {
        guard let value = Int(text), (0...65535).contains(value) else { throw ConfigurationError.invalid("port", text) }
        return value
    }

    static func positiveDouble(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value > 0, value.isFinite else { throw ConfigurationError.invalid(name, text) }
        return value
    }

    static func positive(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text), value > 0 else { throw ConfigurationError.invalid(name, text) }
        return value
    }
}

public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unknownKey(String)
    case invalid(String, String)
    case unreadableFile(String)
    case malformedFile(String, String)

    public var description: String {
        switch self {
        case .unknownKey(let k): "unknown setting '\(k)'"
        case .invalid(let k, let v): "invalid value '\(v)' for \(k)"
        case .unreadableFile(let p): "cannot read config file \(p)"
        case .malformedFile(let p, let why): "config file \(p): \(why)"
        }
    }
}

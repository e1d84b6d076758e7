import ArgumentParser
import Foundation
import Media
import PlaybackSigning
import Server

/// `cuecast sign live/shop1 --ttl 3600`: playback URLs with a token, for a signed app.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print signed playback URLs (HLS, LL-HLS, HTTP-FLV, RTMP) for a stream or a whole app.",
        discussion: """
            The secret is the server's playback-signing-secret: from --secret, CUECAST_PLAYBACK_SIGNING_SECRET or the
            --config file. A token for an app (`cuecast sign live`) admits every stream in it. Tokens are
            <expiry>.<signature>; the same one works for every URL of the stream until it expires.
            """)

    @Argument(help: "Stream as <app>/<name> (that stream), or an app name (every stream in it).") var scope: String
    @Option(help: "Seconds the URLs stay valid (default 3600).") var ttl = 3600
    @Option(help: "The playback signing secret (prefer CUECAST_PLAYBACK_SIGNING_SECRET: ps shows flags).") var secret: String?
    @Option(help: "JSON config file of the server, for its secret, host and ports.") var config: String?
    @Option(help: "Host name in the URLs (default: the config's public-host, else localhost).") var publicHost: String?
    @Flag(help: "Print only the token.") var tokenOnly = false

    // Argument checks in validate(), not run(): ArgumentParser then prints this command's usage with the error.
    func validate() throws {
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        guard StreamPath(scope) != nil || StreamPath.isValidComponent(scope) else {
            throw ValidationError("scope must be <app>/<name> or an app name, using letters, digits, '-', '_' or '.'")
        }
    }

    func run() throws {
        var settings = ServerConfiguration()
        do {
            if let config { try settings.apply(configFile: config) }
            try settings.apply(environment: ProcessInfo.processInfo.environment)
            if let secret { try settings.set("playback-signing-secret", to: secret) }
            if let publicHost { try settings.set("public-host", to: publicHost) }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        guard let signer = settings.playbackSigner else {
            throw ValidationError("no playback-signing-secret: pass --secret, set CUECAST_PLAYBACK_SIGNING_SECRET, or --config")
        }
        let path = StreamPath(scope)
        let expiry = Date().addingTimeInterval(TimeInterval(ttl))
        let token = signer.token(scope: scope, expiry: expiry)
        if tokenOnly {
            print(token)
            return
        }
        let http = "\(settings.https ? "https" : "http")://\(settings.publicHost):\(settings.httpPort)"
        let rtmp = "rtmp://\(settings.publicHost):\(settings.rtmpPort)"
        let (app, name) = path.map { ($0.app, $0.name) } ?? (scope, "<stream>")
        print("""
            Valid until \(expiry.formatted(.iso8601)) (\(ttl) s), for \(path == nil ? "every stream of app \(scope)" : scope):

              Low-Latency HLS: \(http)/hls/\(app)/\(name)/ll.m3u8?token=\(token)
              HLS:             \(http)/hls/\(app)/\(name)/index.m3u8?token=\(token)
              HTTP-FLV:        \(http)/\(app)/\(name).flv?token=\(token)
              RTMP:            \(rtmp)/\(app)/\(name)?token=\(token)
              Viewer page:     \(http)/watch/\(app)/\(name)?token=\(token)
            """)
        if !signer.requiresToken(app: app) {
            print("\nNote: app \(app) is not in playback-signing-apps; its playback needs no token.")
        }
    }
}

import ArgumentParser
import Server

@main
struct CueCast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuecast",
        abstract: "Livestream ingest and relay server for live commerce.",
        discussion: """
            Streamers publish RTMP to rtmp://HOST:1935/<app> with a stream key; operators use the HTTP API.
            Start with `cuecast keys add live/demo`, then `cuecast serve`.
            """,
        version: CueCastServer.version,
        subcommands: [Serve.self, Keys.self, Cue.self, Push.self, Stats.self, Sessions.self, Sign.self, Tokens.self]
    )
}

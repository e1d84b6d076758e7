import ArgumentParser
import Foundation
import Media
import Store

struct DataOptions: ParsableArguments {
    @Option(help: "Directory holding the database (default ./data, or CUECAST_DATA_DIR).")
    var dataDir: String?

    func open() throws -> Database {
        try Database(directory: dataDir ?? ProcessInfo.processInfo.environment["CUECAST_DATA_DIR"] ?? "./data")
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage stream keys (shared with a running server through the database).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a stream and its secret key; the key is printed once and stored only as a hash.")
        @Argument(help: "Stream as <app>/<name>, e.g. live/shop1.") var stream: String
        @Option(help: "Host name for the printed publish URL.") var publicHost = "localhost"
        @Option(help: "RTMP port for the printed publish URL.") var rtmpPort = 1935
        @Flag(help: "Print only the key (for scripts).") var quiet = false
        @OptionGroup var data: DataOptions

        // In validate(), not run(): ArgumentParser then prints this command's usage with the error, not the root's.
        func validate() throws {
            let path = try StreamArgument.check(stream)
            if let reservation = path.reservation { throw ValidationError(reservation) }
        }

        func run() async throws {
            guard let path = StreamPath(stream) else { preconditionFailure("checked in validate()") }
            let keys = StreamKeyStore(database: try data.open())
            let secret: String
            do {
                secret = try await keys.add(stream: path.description)
            } catch let error as StreamKeyError {
                throw CommandFailure(error.description)
            }
            if quiet {
                print(secret)
                return
            }
            let server = "rtmp://\(publicHost):\(rtmpPort)/\(path.app)"
            print("""
                Stream \(path) created. Its key is shown only now:

                  Stream key: \(secret)

                OBS: Settings → Stream → Service "Custom…"
                  Server:     \(server)
                  Stream Key: \(secret)

                ffmpeg:
                  ffmpeg -re -i input.mp4 -c copy -f flv "\(server)/\(path.name)?key=\(secret)"
                """)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List streams and whether their key is active.")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let records = try await StreamKeyStore(database: try data.open()).list()
            if records.isEmpty {
                print("No stream keys. Create one with `cuecast keys add live/shop1`.")
                return
            }
            let formatter = ISO8601DateFormatter()
            let width = max(6, records.map(\.stream.count).max() ?? 0)
            print("STREAM".padding(toLength: width, withPad: " ", startingAt: 0) + "  STATE    CREATED")
            for record in records {
                let state = record.isActive ? "active " : "revoked"
                print(record.stream.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(state)  \(formatter.string(from: record.createdAt))")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a stream's key; new publishes with it are refused at once.")
        @Argument(help: "Stream as <app>/<name>.") var stream: String
        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await StreamKeyStore(database: try data.open()).revoke(stream: stream)
            } catch let error as StreamKeyError {
                throw CommandFailure(error.description)
            }
            print("Key for \(stream) revoked.")
        }
    }
}

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show recent publish sessions.")
    @Option(help: "Only this stream (<app>/<name>).") var stream: String?
    @Option(help: "How many sessions to show.") var limit = 20
    @OptionGroup var data: DataOptions

    func run() async throws {
        let records = try await PublishSessionLog(database: try data.open()).recent(stream: stream, limit: limit)
        let formatter = ISO8601DateFormatter()
        for r in records {
            let head = "#\(r.id) \(r.stream) from \(r.remoteAddress) \(formatter.string(from: r.startedAt))"
            guard let ended = r.endedAt else {
                // Its figures are written when it ends; a zero here would read as a publish that sends nothing.
                print("\(head) → live (figures when it ends; `cuecast stats` has them now)")
                continue
            }
            print("\(head) → \(formatter.string(from: ended)) video=\(r.videoCodec ?? "-")/\(r.videoFrames) audio=\(r.audioCodec ?? "-")/\(r.audioFrames) bytes=\(r.bytes) end=\(r.endReason ?? "-")")
        }
    }
}

import ArgumentParser
import Foundation
import NIOHTTP1

/// `cuecast push …`: a stream's push targets, through a running server's API (a change takes effect at once).
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push a stream on to other RTMP/RTMPS servers (WeChat Channels, Douyin, YouTube, Facebook…).",
        discussion: """
            Targets are stored by the server and survive a restart; each connects while the stream is live and \
            reconnects by itself. The stream key in a URL is never shown again once saved. Talks to a running \
            server: --server (default http://127.0.0.1:8080, or CUECAST_SERVER), token as for `cuecast cue`.
            """,
        subcommands: [Add.self, List.self, Enable.self, Disable.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a target: rtmp(s)://host[:port]/<app>/<stream key>[?query], as the platform gives it (a signed key keeps its query).")
        @Argument(help: "Stream, <app>/<name>.") var stream: String
        @Argument(help: "Target URL as the platform gives it, key included.") var url: String
        @Option(help: "A name for the target (default: its host).") var name: String?
        @Flag(help: "Store the target switched off.") var disabled = false
        @OptionGroup var connection: Cue.Connection

        func validate() throws { _ = try StreamArgument.check(stream) }

        func run() async throws {
            var body: [String: Any] = ["url": url, "enabled": !disabled]
            if let name { body["name"] = name }
            let data = try await connection.send(.POST, "/api/v1/streams/\(stream)/pushes", body: body)
            let target = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            print("added \(target["id"] ?? "?") \(target["name"] ?? "") → \(target["url"] ?? "") (\(target["state"] ?? "?"))")
            // The server's note: the stream has no active key (a target may be set up before it, or the name has a typo).
            if let note = target["note"] as? String { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a stream's targets, or every stream's, and what each is doing.")
        @Argument(help: "Stream, <app>/<name>; every stream's targets when left out.") var stream: String?
        @Flag(help: "Print the JSON answer.") var json = false
        @OptionGroup var connection: Cue.Connection

        func validate() throws { if let stream { _ = try StreamArgument.check(stream) } }

        func run() async throws {
            let data = try await connection.send(.GET, stream.map { "/api/v1/streams/\($0)/pushes" } ?? "/api/v1/pushes")
            if json {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            let answer = (try JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let targets = answer?["pushes"] as? [[String: Any]] ?? []
            // A stream with no active key: the same note as when a target is added (one per such stream when
            // listing every stream's).
            let notes = (answer?["note"] as? String).map { [$0] } ?? ((answer?["notes"] as? [String: String]) ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            if targets.isEmpty { print(stream.map { "no push targets on \($0)" } ?? "no push targets") }
            for target in targets {
                // Listing every stream's, each line starts with its stream.
                let on = stream == nil ? "\(target["stream"] ?? "?")  " : ""
                // With its time: a target back to `live` still shows why it last went down, and when.
                let at = (target["lastErrorAt"] as? String).map { " at \($0)" } ?? ""
                let error = (target["lastError"] as? String).map { "  last error\(at): \($0)" } ?? ""
                let sent = (target["bytesSent"] as? Int).map { " \($0 / 1024) KiB sent" } ?? ""
                let reconnects = (target["reconnects"] as? Int).flatMap { $0 > 0 ? " \($0) reconnect attempts" : nil } ?? ""
                let retry = (target["retryAt"] as? String).map { "  next try at \($0)" } ?? ""
                print("\(on)\(target["id"] ?? "?")  \(target["name"] ?? "")  \(target["url"] ?? "")  \(target["state"] ?? "?")\(sent)\(reconnects)\(retry)\(error)")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Switch a target on (a failed one tries again at once).")
        @Argument(help: "Stream, <app>/<name>.") var stream: String
        @Argument(help: "Target id (pt_…).") var id: String
        @OptionGroup var connection: Cue.Connection

        func validate() throws { _ = try StreamArgument.check(stream) }

        func run() async throws { try await Push.switchTarget(on: true, stream: stream, id: id, connection: connection) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Switch a target off (it unpublishes if live).")
        @Argument(help: "Stream, <app>/<name>.") var stream: String
        @Argument(help: "Target id (pt_…).") var id: String
        @OptionGroup var connection: Cue.Connection

        func validate() throws { _ = try StreamArgument.check(stream) }

        func run() async throws { try await Push.switchTarget(on: false, stream: stream, id: id, connection: connection) }
    }

    static func switchTarget(on: Bool, stream: String, id: String, connection: Cue.Connection) async throws {
        _ = try await connection.send(.PATCH, "/api/v1/streams/\(stream)/pushes/\(id)", body: ["enabled": on])
        print("\(id) \(on ? "enabled" : "disabled")")
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a target for good.")
        @Argument(help: "Stream, <app>/<name>.") var stream: String
        @Argument(help: "Target id (pt_…).") var id: String
        @OptionGroup var connection: Cue.Connection

        func validate() throws { _ = try StreamArgument.check(stream) }

        func run() async throws {
            _ = try await connection.send(.DELETE, "/api/v1/streams/\(stream)/pushes/\(id)")
            print("\(id) removed")
        }
    }
}

import ArgumentParser
import Foundation

/// `cuecast stats`: live streams as a table, like `docker stats`.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show live streams' health: bitrate, frame rate, keyframes, viewers, latency.",
        discussion: "Redraws in place on a terminal with --follow; prints plain lines when piped. --json prints the raw API answer.")

    @Flag(help: "Keep running and refresh every second.") var follow = false
    @Flag(help: "Print the API's JSON instead of a table.") var json = false
    @OptionGroup var connection: Cue.Connection

    func run() async throws {
        let interactive = isatty(STDOUT_FILENO) == 1
        repeat {
            let data = try await connection.send(.GET, "/api/v1/streams")
            if json {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                let table = Self.table(data)
                // On a terminal: home the cursor and clear, so the table redraws in place.
                let text = (follow && interactive ? "\u{1B}[H\u{1B}[2J" : "") + table + "\n"
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            if follow { try await Task.sleep(for: .seconds(1)) }
        } while follow
    }

    static func table(_ data: Data) -> String {
        let streams = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        var rows = [["STREAM", "UPTIME", "VIDEO", "AUDIO", "KBIT/S", "FPS", "GOP", "VIEWERS", "SEG P99", "WARNINGS"]]
        for stream in streams {
            let stats = stream["statistics"] as? [String: Any] ?? [:]
            let rates = stats["rates"] as? [String: Any] ?? [:]
            let hls = stream["hls"] as? [String: Any] ?? [:]
            let video = stream["video"] as? [String: Any]
            let audio = stream["audio"] as? [String: Any]
            func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
            let bits = (number(rates["videoBitsPerSecond1s"]) ?? 0) + (number(rates["audioBitsPerSecond1s"]) ?? 0)
            rows.append([
                stream["stream"] as? String ?? "?",
                number(stream["uptimeSeconds"]).map { String(format: "%.0fs", $0) } ?? "-",
                video.map { "\($0["codec"] ?? "?") \($0["width"] ?? "?")x\($0["height"] ?? "?")" } ?? "-",
                audio.map { "\($0["codec"] ?? "?") \($0["sampleRate"] ?? "?")" } ?? "-",
                String(format: "%.0f", bits / 1000),
                number(rates["frameRate"]).map { String(format: "%.1f", $0) } ?? "-",
                number(stats["keyframeIntervalMax"]).map { String(format: "%.1fs", $0) } ?? "-",
                (hls["viewers"] as? NSNumber).map { "\($0)" } ?? "0",
                number(hls["listingDelayP99"]).map { String(format: "%.0fms", $0 * 1000) } ?? "-",
                (stream["warnings"] as? [String] ?? []).joined(separator: "; "),
            ])
        }
        if streams.isEmpty { rows.append(["(no live streams)"] + Array(repeating: "", count: 9)) }
        var text = Self.render(rows)
        // Push targets of the live streams, one line each (URLs come masked from the server).
        var pushes = [["PUSH", "STREAM", "TARGET", "STATE", "KBIT/S", "RECONNECTS", "LAG", "LAST ERROR"]]
        for stream in streams {
            for push in stream["pushes"] as? [[String: Any]] ?? [] {
                func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
                pushes.append([
                    push["name"] as? String ?? "?", stream["stream"] as? String ?? "?", push["url"] as? String ?? "?",
                    push["state"] as? String ?? "?", number(push["bitsPerSecond"]).map { String(format: "%.0f", $0 / 1000) } ?? "-",
                    (push["reconnects"] as? NSNumber).map { "\($0)" } ?? "0",
                    number(push["lagSeconds"]).map { String(format: "%.0fms", $0 * 1000) } ?? "-", push["lastError"] as? String ?? "",
                ])
            }
        }
        if pushes.count > 1 { text += "\n\n" + Self.render(pushes) }
        return text
    }

    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

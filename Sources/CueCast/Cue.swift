import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Push

/// `cuecast cue …`: places cues through a running server's API, so they are bound to a frame like any other.
struct Cue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Place cue events on a live stream (product pins, coupons, lotteries) or list them.",
        discussion: """
            Talks to a running server: --server (default http://127.0.0.1:8080, or CUECAST_SERVER). The admin token \
            is --token, CUECAST_ADMIN_TOKEN, or <data-dir>/admin-token.
            """,
        subcommands: [Pin.self, Unpin.self, Coupon.self, Lottery.self, Announce.self, List.self])

    struct Connection: ParsableArguments {
        @Option(help: "Server base URL (default http://127.0.0.1:8080, or CUECAST_SERVER).") var server: String?
        @Option(help: "Admin token (default CUECAST_ADMIN_TOKEN or <data-dir>/admin-token).") var token: String?
        @Option(help: "Data directory holding admin-token (default ./data).") var dataDir: String?

        var baseURL: String {
            (server ?? ProcessInfo.processInfo.environment["CUECAST_SERVER"] ?? "http://127.0.0.1:8080")
                .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        }

        func adminToken() throws -> String {
            if let token { return token }
            if let token = ProcessInfo.processInfo.environment["CUECAST_ADMIN_TOKEN"], !token.isEmpty { return token }
            let path = ((dataDir ?? ProcessInfo.processInfo.environment["CUECAST_DATA_DIR"] ?? "./data") as NSString)
                .appendingPathComponent("admin-token")
            guard let data = FileManager.default.contents(atPath: path) else {
                // Not a usage error: the command is right, the token is elsewhere (run from another directory).
                throw CommandFailure(
                    "no admin token: \(path) is not there; pass --token, set CUECAST_ADMIN_TOKEN, or point --data-dir at the server's data directory")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Sends a request and returns the JSON answer; a non-2xx answer becomes an error with the server's message,
        /// and a server that is not there fails at once (`HTTPClient.shared` would retry the connect for 30 s).
        func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> Data {
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(try adminToken())")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.timeout.connect = .seconds(5)
            let client = HTTPClient(configuration: configuration)
            let result: Result<Data, any Error>
            do { result = .success(try await exchange(request, on: client)) } catch { result = .failure(error) }
            try? await client.shutdown()
            return try result.get()
        }

        private func exchange(_ request: HTTPClientRequest, on client: HTTPClient) async throws -> Data {
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: .seconds(30))
            } catch where !ConnectFailure.isConnect(error) {
                throw CommandFailure("request to \(baseURL) failed: \(error)")
            } catch {
                throw CommandFailure(
                    "cannot reach the server at \(baseURL) (\(ConnectFailure.reason(error))). This command goes through a running "
                        + "server's API: start it with `cuecast serve` (or scripts/serve), or point --server / CUECAST_SERVER at it.")
            }
            let bytes = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
            guard (200..<300).contains(response.status.code) else {
                let message = ((try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }
                let field = (message?["field"] as? String).map { " (\($0))" } ?? ""
                throw CommandFailure("server answered \(response.status.code): \(message?["message"] as? String ?? String(decoding: bytes, as: UTF8.self))\(field)")
            }
            return bytes
        }

        func place(stream: String, kind: String, payload: [String: Any], id: String?, duration: Double? = nil) async throws {
            var body: [String: Any] = ["kind": kind, "payload": payload]
            if let id { body["id"] = id }
            if let duration { body["duration"] = duration }
            let data = try await send(.POST, "/api/v1/streams/\(stream)/cues", body: body)
            let cue = (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            print("placed \(cue["kind"] ?? kind) \(cue["id"] ?? "?") on \(stream) at pts \(cue["pts"] ?? "?") (\(cue["programDateTime"] ?? "?"))")
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pin a product; a new pin replaces the last.")
        @Argument(help: "Stream, <app>/<name>.") var stream: String
        @Option var sku: String
        @Option var title: String
        @Option var price: Double
        @Option(help: "ISO 4217 code, e.g. CNY.") var currency: String
        @Option(help: "Product image URL.") var image: String?
        @Option(help: "Product page URL.") var link: String?
        @Option(help: "Cue id; repeating an id places the cue only once.") var id: String?
        @OptionGroup var connection: Connection

        func run() async throws {
            var payload: [String: Any] = ["sku": sku, "title": title, "price": price, "currency": currency]
            payload["image"] = image
            payload["link"] = link
            try await connection.place(stream: stream, kind: "product.pin", payload: payload, id: id)
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the pinned product.")
        @Argument var stream: String
        @Option var sku: String?
        @Option(help: "Cue id; repeating an id places the cue only once.") var id: String?
        @OptionGroup var connection: Connection

        func run() async throws {
            try await connection.place(stream: stream, kind: "product.unpin", payload: sku.map { ["sku": $0] } ?? [:], id: id)
        }
    }

    struct Coupon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Push a coupon.")
        @Argument var stream: String
        @Option var code: String
        @Option var title: String
        @Option(help: "Discount, a number or a text such as 20%.") var discount: String
        @Option(help: "ISO 8601 instant the coupon expires.") var validUntil: String
        @Option(help: "Cue id; repeating an id places the cue only once.") var id: String?
        @OptionGroup var connection: Connection

        func run() async throws {
            let discountValue: Any = Double(discount) ?? discount
            try await connection.place(
                stream: stream, kind: "coupon", payload: ["code": code, "title": title, "discount": discountValue, "validUntil": validUntil], id: id)
        }
    }

    struct Lottery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a lottery.")
        @Argument var stream: String
        @Option(name: .customLong("lottery-id")) var lotteryID: String
        @Option var title: String
        @Option(help: "ISO 8601 instant the lottery ends.") var endsAt: String
        @Option(help: "Cue id; repeating an id places the cue only once.") var id: String?
        @OptionGroup var connection: Connection

        func run() async throws {
            try await connection.place(stream: stream, kind: "lottery", payload: ["id": lotteryID, "title": title, "endsAt": endsAt], id: id)
        }
    }

    struct Announce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an announcement.")
        @Argument var stream: String
        @Option var text: String
        @Option(help: "Seconds it stays on screen.") var duration: Double?
        @Option(help: "Cue id; repeating an id places the cue only once.") var id: String?
        @OptionGroup var connection: Connection

        func run() async throws {
            try await connection.place(stream: stream, kind: "announcement", payload: ["text": text], id: id, duration: duration)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a stream's cues, oldest first.")
        @Argument var stream: String
        @Option(help: "Only cues after this sequence number.") var after: Int = 0
        @OptionGroup var connection: Connection

        func run() async throws {
            let data = try await connection.send(.GET, "/api/v1/streams/\(stream)/cues?after=\(after)&limit=1000")
            let cues = ((try JSONSerialization.jsonObject(with: data)) as? [String: Any])?["cues"] as? [[String: Any]] ?? []
            if cues.isEmpty { print("No cues on \(stream).") }
            for cue in cues {
                let payload = (try? JSONSerialization.data(withJSONObject: cue["payload"] ?? [:], options: [.sortedKeys, .withoutEscapingSlashes]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                print("#\(cue["sequence"] ?? "?") \(cue["programDateTime"] ?? "?") pts=\(cue["pts"] ?? "?") \(cue["kind"] ?? "?") \(cue["id"] ?? "?") \(payload)")
            }
        }
    }
}

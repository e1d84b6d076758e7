import AsyncHTTPClient
import Foundation
import Logging
import Media
import NIOCore
import NIOHTTP1
import Server
import StreamHub
import NIOConcurrencyHelpers
import TestSupport

/// Keeps every log line a test server writes, so tests can assert that a fault was logged with its reason.
final class LogRecorder: Sendable {
    let lines = NIOLockedValueBox<[String]>([])

    func contains(_ text: String) -> Bool { lines.withLockedValue { $0.contains { $0.contains(text) } } }
    var all: [String] { lines.withLockedValue { $0 } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            recorder.lines.withLockedValue { $0.append("\(event.level) \(event.message) \(fields)") }
        }
    }
}

/// The real server, started on port 0 with a fresh data directory.
final class TestServer: Sendable {
    let server: CueCastServer
    let directory: TemporaryDirectory
    let logs: LogRecorder
    let task: Task<Void, any Error>
    let httpPort: Int
    let rtmpPort: Int

    static func start(directory existing: TemporaryDirectory? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        let directory = try existing ?? TemporaryDirectory()
        var configuration = ServerConfiguration()
        configuration.rtmpHost = "127.0.0.1"
        configuration.httpHost = "127.0.0.1"
        configuration.rtmpPort = 0
        configuration.httpPort = 0
        configuration.dataDir = directory.path
        configure(&configuration)
        let logs = LogRecorder()
        let logger = Logger(label: "cuecast-test") { _ in LogRecorder.Handler(recorder: logs) }
        let server = try CueCastServer(configuration: configuration, logger: logger)
        let task = Task { try await server.run(gracefulShutdownSignals: [], reloadSignals: []) }
        let ports = await server.ports.ready()
        return TestServer(server: server, directory: directory, logs: logs, task: task, ports: ports)
    }

    private init(server: CueCastServer, directory: TemporaryDirectory, logs: LogRecorder, task: Task<Void, any Error>, ports: (http: Int, rtmp: Int)) {
        self.server = server
        self.directory = directory
        self.logs = logs
        self.task = task
        self.httpPort = ports.http
        self.rtmpPort = ports.rtmp
    }

    func stop(keepDirectory: Bool = false) async {
        task.cancel()
        _ = try? await task.value
        if !keepDirectory { directory.remove() }
    }

    /// GET returning raw bytes and headers, with extra request headers.
    func fetch(_ path: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> (status: Int, body: [UInt8], headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: httpBase + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Array(bytes.readableBytesView), response.headers)
    }

    /// Fetches a playlist every 200 ms until cancelled or until it ends, keeping each distinct version.
    func pollPlaylist(_ path: String, userAgent: String = "cuecast-test") -> Task<[String], Never> {
        Task {
            var versions: [String] = []
            while !Task.isCancelled {
                if let response = try? await fetch(path, headers: [("User-Agent", userAgent)]), response.status == 200 {
                    let text = String(decoding: response.body, as: UTF8.self)
                    if versions.last != text { versions.append(text) }
                    if text.contains("#EXT-X-ENDLIST") { break }
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return versions
        }
    }

    var rtmpBase: String { "rtmp://127.0.0.1:\(rtmpPort)" }
    var httpBase: String { "http://127.0.0.1:\(httpPort)" }

    /// An HTTP request to the server; the admin token is sent unless `token` says otherwise.
    func request(_ method: HTTPMethod, _ path: String, token: String?? = .none, body: String? = nil) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: httpBase + path)
        request.method = method
        let bearer: String? = token ?? server.adminToken
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers)
    }

    /// Collects everything published on `path`, from the next publish on, until that publish ends.
    func record(_ path: StreamPath) -> Task<[StreamEvent], Never> {
        let recorder = Recorder()
        server.hub.follow(path, with: recorder)
        return Task {
            var events: [StreamEvent] = []
            for await event in recorder.events {
                events.append(event)
                if case .ended = event.kind { break }
            }
            return events
        }
    }

    /// A reader that keeps every event, unbounded (a test's own stream is short).
    final class Recorder: StreamReader {
        let (events, continuation) = AsyncStream.makeStream(of: StreamEvent.self)
        func receive(_ event: StreamEvent) { continuation.yield(event) }
    }

    /// Waits until `condition` holds, checking every 50 ms, or fails after `timeout`.
    func eventually(timeout: Double = 20, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TimeoutError(what: what)
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

extension [StreamEvent] {
    var packets: [MediaPacket] { compactMap { if case .packet(let p) = $0.kind { p } else { nil } } }
    func frames(_ track: Track) -> [MediaPacket] { packets.filter { $0.track == track && $0.kind == .frame } }
}

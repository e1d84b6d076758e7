import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Calls the operator's hook (`on-publish-url`) over HTTP: a signed JSON POST per event.
///
/// `publish` and `play` wait for the answer, at most `timeout`, and fail closed: a refusal, a timeout, a
/// connection error or an unreadable answer all refuse. `publish_done` and `play_done` are fire-and-forget,
/// retried three times (after 1, 2 and 4 s) on errors and 5xx answers.
public final class HookClient: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var url: String
        /// HMAC-SHA256 key for `X-CueCast-Signature`; unsigned requests when nil.
        public var secret: String?
        public var timeout: Duration
        public var doneRetryDelays: [Duration]

        public init(url: String, secret: String? = nil, timeout: Duration = .seconds(3), doneRetryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4)]) {
            self.url = url
            self.secret = secret
            self.timeout = timeout
            self.doneRetryDelays = doneRetryDelays
        }
    }

    public let configuration: Configuration
    let client: HTTPClient
    let logger: Logger
    /// `_done` events not yet delivered (or given up on).
    private let pending = Atomic<Int>(0)

    public init(configuration: Configuration, client: HTTPClient = .shared, logger: Logger) {
        self.configuration = configuration
        self.client = client
        var logger = logger
        logger[metadataKey: "hook"] = "\(Self.redacted(configuration.url))"
        self.logger = logger
    }

    /// The URL as logs show it: without user info or query, which may hold credentials.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparsable URL)" }
        components.user = nil
        components.password = nil
        if components.query != nil { components.query = "…" }
        return components.string ?? "(unparsable URL)"
    }

    /// Asks whether a publish or play may go ahead.
    public func admit(_ event: HookEvent) async -> HookVerdict {
        do {
            let (status, body) = try await withTimeout { try await self.post(event) }
            let verdict = HookVerdict.from(status: status, body: body)
            logger.debug("hook answered", metadata: ["action": "\(event.action.rawValue)", "status": "\(status)"])
            return verdict
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return .refuse(reason: "hook did not answer within \(configuration.timeout)")
        } catch is HookTimeout {
            return .refuse(reason: "hook did not answer within \(configuration.timeout)")
        } catch {
            // The client is told only that; the log has the detail (it may name internal hosts).
            logger.warning("hook could not be reached: \(Self.describe(error))", metadata: ["action": "\(event.action.rawValue)"])
            return .refuse(reason: "hook could not be reached")
        }
    }

    /// Tells the hook a publish or play ended; returns at once.
    public func notify(_ event: HookEvent) {
        let (delays, logger) = (configuration.doneRetryDelays, self.logger)
        pending.add(1, ordering: .relaxed)
        Task {
            defer { self.pending.subtract(1, ordering: .relaxed) }
            for attempt in 0...delays.count {
                do {
                    let (status, _) = try await self.post(event)
                    if status < 500 { return }
                    logger.warning("hook answered \(status)", metadata: ["action": "\(event.action.rawValue)", "attempt": "\(attempt + 1)"])
                } catch {
                    logger.warning(
                        "hook could not be reached: \(Self.describe(error))", metadata: ["action": "\(event.action.rawValue)", "attempt": "\(attempt + 1)"])
                }
                guard attempt < delays.count else { break }
                try? await Task.sleep(for: delays[attempt])
            }
            logger.error("hook never took the event", metadata: ["action": "\(event.action.rawValue)", "session": "\(event.sessionID)"])
        }
    }

    /// Waits until every `_done` event has been delivered or given up on, at most `limit` (a shutdown calls this so
    /// the last publishes' ends reach the hook before the process exits). Returns how many were still pending.
    @discardableResult
    public func waitForNotifications(upTo limit: Duration) async -> Int {
        let deadline = ContinuousClock.now + limit
        while pending.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return pending.load(ordering: .relaxed)
    }

    private struct HookTimeout: Error {}

    /// The whole exchange, body included, within `timeout` and a little: a hook that sends headers and then stalls
    /// refuses too. The client's own deadline comes first, so a refused connection is reported as one.
    private func withTimeout<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = configuration.timeout + .milliseconds(500)
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw HookTimeout()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func post(_ event: HookEvent) async throws -> (Int, Data) {
        let body = event.body()
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "CueCast")
        if let secret = configuration.secret { request.headers.add(name: HookSignature.header, value: HookSignature.sign(body, secret: secret)) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let (seconds, attoseconds) = configuration.timeout.components
        let response = try await client.execute(request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        let answer = try await response.body.collect(upTo: 64 * 1024)
        return (Int(response.status.code), Data(answer.readableBytesView))
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error)
    }
}

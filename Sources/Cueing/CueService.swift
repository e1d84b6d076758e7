import Cues
import Foundation
import Logging
import Media
import Store
import StreamHub
import Synchronization
import NIOConcurrencyHelpers

/// Takes cues from the API and from streamers, binds each to a frame through the stream hub, stores it, and
/// feeds the event stream.
public final class CueService: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var maxPayloadBytes = 1024
        public var ratePerSecond: Double = 10
        public var burst: Double = 20
        /// How long a cue may wait for a frame before the request fails.
        public var bindTimeout: Double = 10

        public init() {}
    }

    public enum Failure: Error, Sendable, Equatable {
        case invalid(CueValidationError)
        case rateLimited(retryAfter: Double)
        case unknownStream(String)
        case notLive(String)
        case notPlaced(String)
        /// The cue log could not take the cue (database busy, disk full or read-only): not acknowledged, retry.
        case unavailable(String)
    }

    let configuration: Configuration
    let hub: StreamHub
    let log: CueLog
    let keys: StreamKeyStore
    let logger: Logger
    private let limiter: NIOLockedValueBox<RateLimiter>
    private let feeds = NIOLockedValueBox<[String: [Int: AsyncStream<CueEvent>.Continuation]]>([:])
    private let nextFeedID = Atomic<Int>(0)
    /// Cues placed since the server started, per stream and kind, for the stats.
    private let placed = NIOLockedValueBox<[String: [CueKind: Int]]>([:])

    public init(configuration: Configuration, hub: StreamHub, log: CueLog, keys: StreamKeyStore, logger: Logger) {
        self.configuration = configuration
        self.hub = hub
        self.log = log
        self.keys = keys
        self.logger = logger
        limiter = NIOLockedValueBox(RateLimiter(rate: configuration.ratePerSecond, burst: configuration.burst))
    }

    var validator: CueValidator { CueValidator(maxPayloadBytes: configuration.maxPayloadBytes) }

    /// Validates, binds and stores an operator's cue. Returns the stored cue and whether it is new (a repeated
    /// id returns the first one).
    public func submit(stream path: StreamPath, json: Data) async throws(Failure) -> (CueEvent, created: Bool) {
        let request: CueRequest
        do {
            request = try validator.validate(json: json)
        } catch {
            throw .invalid(error)
        }
        let live = hub.stream(path)
        if live == nil {
            let known = (try? await keys.exists(stream: path.description)) ?? false
            throw known ? .notLive("stream \(path) is not live") : .unknownStream("no stream \(path)")
        }
        if let id = request.id, let existing = try? await log.find(stream: path.description, id: id) {
            return (existing, false)
        }
        if case .failure(let retry) = limiter.withLockedValue({ $0.take(path.description, now: Date()) }) {
            throw .rateLimited(retryAfter: retry.seconds)
        }
        let target: PendingCue.Target = request.at.map { .notBefore($0) } ?? .nextFrame
        let timeout = configuration.bindTimeout + (request.at.map { max(0, $0.timeIntervalSinceNow) } ?? 0)
        return try await place(
            id: request.id ?? Self.makeID(), kind: request.kind, payload: request.payload, duration: request.duration,
            target: target, on: live!, source: .api, timeout: timeout)
    }

    /// A cue the streamer sent in the stream (onCuePoint, onTextData), bound at its media time. Called on the
    /// connection's event loop: the cue is marked at once, so it stays in order with the packets around it.
    public func receiveInBand(_ cue: InBandCue, on stream: LiveStream) {
        let request: CueRequest
        do {
            request = try validator.validate(json: Self.json(for: cue))
        } catch {
            logger.warning("in-band cue refused", metadata: ["stream": "\(stream.path)", "error": "\(error)"])
            return
        }
        let id = request.id ?? Self.makeID()
        let answer = mark(
            id: id, kind: request.kind, payload: request.payload, duration: request.duration,
            target: .mediaTime(cue.timestamp), on: stream, timeout: configuration.bindTimeout)
        Task {
            do {
                _ = try await record(
                    id: id, kind: request.kind, payload: request.payload, duration: request.duration, bound: await answer(),
                    on: stream, source: .inBand)
            } catch {
                logger.warning("in-band cue not placed", metadata: ["stream": "\(stream.path)", "error": "\(error)"])
            }
        }
    }

    private func place(
        id: String, kind: CueKind, payload: String, duration: Double?, target: PendingCue.Target, on stream: LiveStream,
        source: CueEvent.Source, timeout: Double
    ) async throws(Failure) -> (CueEvent, created: Bool) {
        let answer = mark(id: id, kind: kind, payload: payload, duration: duration, target: target, on: stream, timeout: timeout)
        return try await record(id: id, kind: kind, payload: payload, duration: duration, bound: await answer(), on: stream, source: source)
    }

    /// Sends the cue down the stream now; the returned function waits for the remuxer's answer, or nil after
    /// `timeout` seconds.
    private func mark(
        id: String, kind: CueKind, payload: String, duration: Double?, target: PendingCue.Target, on stream: LiveStream,
        timeout: Double
    ) -> @Sendable () async -> BoundCue? {
        let (answers, continuation) = AsyncStream.makeStream(of: BoundCue?.self, bufferingPolicy: .bufferingNewest(1))
        stream.mark(
            PendingCue(id: id, kind: kind, payload: payload, duration: duration, target: target) { bound in
                continuation.yield(bound)
                continuation.finish()
            })
        let timer = Task {
            try? await Task.sleep(for: .seconds(timeout))
            continuation.finish()
        }
        return {
            defer { timer.cancel() }
            for await answer in answers { return answer }
            return nil
        }
    }

    /// Stores a bound cue and tells the event feed.
    private func record(
        id: String, kind: CueKind, payload: String, duration: Double?, bound: BoundCue?, on stream: LiveStream,
        source: CueEvent.Source
    ) async throws(Failure) -> (CueEvent, created: Bool) {
        guard let bound else {
            throw .notPlaced("no frame of \(stream.path) could carry the cue: the publish ended, the instant is in a segment already published, or it is before a cue already placed")
        }
        let event = CueEvent(
            sequence: 0, id: id, stream: stream.path.description, kind: kind, payload: payload, duration: duration,
            pts: bound.pts, programDateTime: bound.programDateTime, source: source, createdAt: Date())
        let stored: (event: CueEvent, created: Bool)
        do {
            stored = try await log.append(event)
        } catch {
            logger.error("could not store cue: \(error)", metadata: ["stream": "\(stream.path)"])
            throw .unavailable("the cue was not stored, so it is not acknowledged: \(StorageFailure.describe(error)); retry")
        }
        if stored.created {
            placed.withLockedValue { $0[stored.event.stream, default: [:]][kind, default: 0] += 1 }
            broadcast(stored.event)
            logger.info(
                "cue placed",
                metadata: ["stream": "\(stream.path)", "id": "\(id)", "kind": "\(kind.rawValue)", "pts": "\(bound.pts)", "source": "\(source.rawValue)"])
        }
        return stored
    }

    // MARK: Reading

    /// Cues placed on a stream since the server started, by kind.
    public func placedCounts(_ path: StreamPath) -> [CueKind: Int] {
        placed.withLockedValue { $0[path.description] ?? [:] }
    }

    public func state(of path: StreamPath) async throws -> CueState {
        CueState(latestByKind: try await log.latestByKind(stream: path.description))
    }

    public func list(_ path: StreamPath, after sequence: Int64, limit: Int) async throws -> [CueEvent] {
        try await log.list(stream: path.description, after: sequence, limit: limit)
    }

    /// Cues placed from now on, for the event feed.
    public func subscribe(_ path: StreamPath) -> AsyncStream<CueEvent> {
        let id = nextFeedID.add(1, ordering: .relaxed).newValue
        let key = path.description
        let (stream, continuation) = AsyncStream.makeStream(of: CueEvent.self, bufferingPolicy: .bufferingNewest(1000))
        continuation.onTermination = { [weak self] _ in
            self?.feeds.withLockedValue { _ = $0[key]?.removeValue(forKey: id) }
        }
        feeds.withLockedValue { $0[key, default: [:]][id] = continuation }
        return stream
    }

    private func broadcast(_ event: CueEvent) {
        let targets = feeds.withLockedValue { Array(($0[event.stream] ?? [:]).values) }
        for target in targets { target.yield(event) }
    }

    static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "cue_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// onTextData carries a cue as JSON text; onCuePoint names the kind and carries the payload as parameters
    /// (numeric texts become numbers, so `price` can be sent as "199").
    static func json(for cue: InBandCue) -> Data {
        if cue.kind == .textData { return Data((cue.text ?? "").utf8) }
        var payload: [String: Any] = [:]
        for (key, value) in cue.parameters {
            payload[key] = Double(value).map { $0 as Any } ?? value
        }
        var object: [String: Any] = ["kind": cue.name ?? "", "payload": payload]
        if let id = cue.parameters["cueId"] {
            object["id"] = id
            payload["cueId"] = nil
            object["payload"] = payload
        }
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }
}

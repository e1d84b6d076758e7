import Foundation
import Logging
import Media
import NIOCore
import NIOSSL
import StreamHub
import Store
import NIOConcurrencyHelpers

/// Every stream's push targets: stored in SQLite, each enabled one a `PushSession`, which moves to its
/// publisher's event loop when it connects.
/// Adding, switching and removing a target takes effect at once (a target added to a live stream connects now).
public final class PushService: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case badURL(String)
        case badName(String)

        public var description: String {
            switch self {
            case .badURL(let reason): "bad push URL: \(reason)"
            case .badName(let reason): reason
            }
        }
    }

    struct Entry {
        var record: PushTargetRecord
        var session: PushSession?
        /// The session a switch-off stopped: its figures and history stay visible while the target is off.
        var previous: PushSession?
    }

    let store: PushTargetStore
    let hub: StreamHub
    let group: any EventLoopGroup
    let tls: NIOSSLContext
    let graceSeconds: Double
    let readerConfiguration: QueuedStreamReader.Configuration
    let logger: Logger
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// `caFile` (PEM) is trusted for `rtmps://` targets besides the system's roots.
    /// - Throws: NIOSSL's error when the CA file cannot be read.
    public init(
        store: PushTargetStore, hub: StreamHub, group: any EventLoopGroup, caFile: String?, graceSeconds: Double,
        readerConfiguration: QueuedStreamReader.Configuration, logger: Logger
    ) throws {
        self.store = store
        self.hub = hub
        self.group = group
        self.graceSeconds = graceSeconds
        self.readerConfiguration = readerConfiguration
        self.logger = logger
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
        }
        tls = try NIOSSLContext(configuration: configuration)
    }

    /// Starts the stored targets.
    public func load() async throws {
        for record in try await store.all() { install(record) }
    }

    private func install(_ record: PushTargetRecord) {
        let session = record.enabled ? makeSession(record) : nil
        entries.withLockedValue { $0[record.id] = Entry(record: record, session: session) }
        session?.start()
    }

    /// Waits for a target's session to take its first steps, so the answer to an add or a switch-on shows
    /// `connecting` when the stream is live rather than the `idle` of a session not yet started. Those steps are
    /// tasks on the session's loop (the start, then the publish it found), and may hand the session over to the
    /// publisher's loop, where its successor starts next: an empty task queued behind them on whichever loop holds
    /// the session now, a few times over, runs after all of them. Idle is the answer while the stream is not live.
    private func settle(_ id: String, stream: StreamPath) async {
        for _ in 0..<8 {
            guard let session = entries.withLockedValue({ $0[id]?.session }),
                session.currentStatus.state == .idle, hub.stream(stream) != nil
            else { return }
            try? await session.eventLoop.submit {}.get()
        }
    }

    private func makeSession(
        _ record: PushTargetRecord, on eventLoop: (any EventLoop)? = nil, succeeding predecessor: (PushSession, PushSession.Carried)? = nil
    ) -> PushSession? {
        guard let path = StreamPath(record.stream), let url = try? PushURL(record.url) else { return nil }
        return PushSession(
            id: record.id, name: record.name, path: path, url: url, hub: hub, eventLoop: eventLoop ?? group.next(),
            tls: url.scheme == .rtmps ? tls : nil, graceSeconds: graceSeconds, readerConfiguration: readerConfiguration,
            logger: logger, succeeding: predecessor,
            relocate: { [weak self] from, stream, carried in self?.relocate(from, to: stream, carried: carried) ?? false })
    }

    /// Replaces `session` by a successor on `stream`'s loop, if it is still the target's session (a switch-off or
    /// removal may have come first). On `session`'s loop.
    private func relocate(_ session: PushSession, to stream: LiveStream, carried: PushSession.Carried) -> Bool {
        let successor: PushSession? = entries.withLockedValue { entries in
            guard let entry = entries[session.id], entry.session === session,
                let successor = makeSession(entry.record, on: stream.eventLoop, succeeding: (session, carried))
            else { return nil }
            entries[session.id]?.session = successor
            return successor
        }
        successor?.takeOver(stream)
        return successor != nil
    }

    private func status(_ entry: Entry) -> PushStatus {
        if let session = entry.session { return session.currentStatus }
        if let previous = entry.previous {
            var status = previous.currentStatus
            status.enabled = false
            status.move(to: .disabled)
            status.retryAt = nil
            return status
        }
        let masked = (try? PushURL(entry.record.url).masked) ?? "(unreadable URL)"
        return PushStatus(id: entry.record.id, stream: entry.record.stream, name: entry.record.name, url: masked, enabled: false)
    }

    /// Adds a target to `stream`; it starts at once if enabled (at the current keyframe if the stream is live).
    /// - Throws: `Failure.badURL` for a URL that is not `rtmp(s)://host[:port]/<app>/<key>`.
    public func add(stream: StreamPath, name: String?, url: String, enabled: Bool) async throws -> PushStatus {
        let parsed: PushURL
        do {
            parsed = try PushURL(url)
        } catch {
            throw Failure.badURL(error.description)
        }
        let label = name ?? parsed.host
        guard label.count <= 100 else { throw Failure.badName("name longer than 100 characters") }
        let record = try await store.add(stream: stream.description, name: label, url: url, enabled: enabled)
        install(record)
        await settle(record.id, stream: stream)
        logger.info("push target added", metadata: ["stream": "\(stream)", "push": "\(record.id)", "target": "\(parsed.masked)"])
        return entries.withLockedValue { $0[record.id].map(status) } ?? PushStatus(
            id: record.id, stream: record.stream, name: record.name, url: parsed.masked, enabled: enabled)
    }

    public func list(stream: StreamPath) -> [PushStatus] {
        entries.withLockedValue { entries in
            entries.values.filter { $0.record.stream == stream.description }.sorted { $0.record.createdAt < $1.record.createdAt }.map(status)
        }
    }

    public func all() -> [PushStatus] {
        entries.withLockedValue { entries in entries.values.sorted { ($0.record.stream, $0.record.createdAt) < ($1.record.stream, $1.record.createdAt) }.map(status) }
    }

    /// Switches a target on (a fresh session: a `failed` target tries again at once) or off; nil if unknown.
    public func setEnabled(_ enabled: Bool, id: String, stream: StreamPath) async throws -> PushStatus? {
        guard let record = try await store.setEnabled(enabled, id: id, stream: stream.description) else { return nil }
        let old = entries.withLockedValue { entries -> PushSession? in
            let old = entries[id]?.session
            entries[id] = Entry(record: record, session: nil, previous: old ?? entries[id]?.previous)
            return old
        }
        old?.stop()
        if enabled, let session = makeSession(record) {
            entries.withLockedValue { $0[id]?.session = session }
            session.start()
            await settle(id, stream: stream)
        }
        logger.info("push target \(enabled ? "enabled" : "disabled")", metadata: ["stream": "\(stream)", "push": "\(id)"])
        return entries.withLockedValue { $0[id].map(status) }
    }

    /// Removes a target (unpublishing it first if live); false if unknown.
    public func remove(id: String, stream: StreamPath) async throws -> Bool {
        guard try await store.remove(id: id, stream: stream.description) else { return false }
        let old = entries.withLockedValue { $0.removeValue(forKey: id)?.session }
        old?.stop()
        logger.info("push target removed", metadata: ["stream": "\(stream)", "push": "\(id)"])
        return true
    }

    /// The target's running session, if it is on.
    func session(id: String) -> PushSession? { entries.withLockedValue { $0[id]?.session } }

    /// Stops every session (server shutdown). Each is taken out of `entries` under the lock, so one about to hand
    /// over to another loop cannot install a successor that nothing would stop.
    public func stopAll() {
        let sessions = entries.withLockedValue { entries in
            entries.keys.compactMap { id -> PushSession? in
                guard let session = entries[id]?.session else { return nil }
                entries[id]?.session = nil
                entries[id]?.previous = session
                return session
            }
        }
        for session in sessions { session.stop() }
    }
}

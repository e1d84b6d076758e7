import Cues
import Foundation
import GRDB

/// Every accepted cue, in order per stream. Written before a cue is acknowledged, so an acknowledged cue survives
/// a crash.
public struct CueLog: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    struct Row: FetchableRecord, Decodable {
        var sequence: Int64
        var id: String
        var stream: String
        var kind: String
        var payload: String
        var duration: Double?
        var pts: Int64
        var programDateTime: Date
        var source: String
        var createdAt: Date

        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

        var event: CueEvent? {
            guard let kind = CueKind(rawValue: kind), let source = CueEvent.Source(rawValue: source) else { return nil }
            return CueEvent(
                sequence: sequence, id: id, stream: stream, kind: kind, payload: payload, duration: duration, pts: pts,
                programDateTime: programDateTime, source: source, createdAt: createdAt)
        }
    }

    /// Stores `event` (its `sequence` is assigned here). If the stream already has a cue with this id, nothing is
    /// written and the stored one is returned: repeats are idempotent.
    public func append(_ event: CueEvent) async throws -> (event: CueEvent, created: Bool) {
        try await database.pool.write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT * FROM cue WHERE stream = ? AND id = ?", arguments: [event.stream, event.id])?.event {
                return (existing, false)
            }
            try db.execute(
                sql: """
                    INSERT INTO cue (id, stream, kind, payload, duration, pts, program_date_time, source, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.id, event.stream, event.kind.rawValue, event.payload, event.duration, event.pts,
                    event.programDateTime, event.source.rawValue, event.createdAt,
                ])
            var stored = event
            stored.sequence = db.lastInsertedRowID
            return (stored, true)
        }
    }

    public func find(stream: String, id: String) async throws -> CueEvent? {
        try await database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM cue WHERE stream = ? AND id = ?", arguments: [stream, id])?.event
        }
    }

    /// Cues of `stream` after `sequence` (exclusive), oldest first.
    public func list(stream: String, after sequence: Int64 = 0, limit: Int = 100) async throws -> [CueEvent] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM cue WHERE stream = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [stream, sequence, limit]
            ).compactMap(\.event)
        }
    }

    /// The newest cue of each kind for `stream`: enough to know what is on screen now.
    public func latestByKind(stream: String) async throws -> [CueEvent] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM cue WHERE sequence IN (SELECT MAX(sequence) FROM cue WHERE stream = ? GROUP BY kind)",
                arguments: [stream]
            ).compactMap(\.event)
        }
    }
}

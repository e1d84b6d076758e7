import Foundation
import GRDB

/// One publish from start to end, as kept in the database.
public struct PublishSessionRecord: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var stream: String
    public var remoteAddress: String
    public var startedAt: Date
    public var endedAt: Date?
    public var encoder: String?
    public var videoCodec: String?
    public var audioCodec: String?
    public var bytes: Int64
    public var videoFrames: Int64
    public var audioFrames: Int64
    public var endReason: String?

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// The final figures of a publish, written when it ends.
public struct PublishSessionSummary: Sendable {
    public var encoder: String?
    public var videoCodec: String?
    public var audioCodec: String?
    public var bytes: Int64
    public var videoFrames: Int64
    public var audioFrames: Int64
    public var endReason: String

    public init(
        encoder: String?, videoCodec: String?, audioCodec: String?, bytes: Int64, videoFrames: Int64,
        audioFrames: Int64, endReason: String
    ) {
        self.encoder = encoder
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
        self.bytes = bytes
        self.videoFrames = videoFrames
        self.audioFrames = audioFrames
        self.endReason = endReason
    }
}

/// The record of every publish session.
public struct PublishSessionLog: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    public func start(stream: String, remoteAddress: String, at date: Date = Date()) async throws -> Int64 {
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO publish_session (stream, remote_address, started_at) VALUES (?, ?, ?)",
                arguments: [stream, remoteAddress, date])
            return db.lastInsertedRowID
        }
    }

    public func end(id: Int64, summary: PublishSessionSummary, at date: Date = Date()) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE publish_session SET ended_at = ?, encoder = ?, video_codec = ?, audio_codec = ?, bytes = ?,
                    video_frames = ?, audio_frames = ?, end_reason = ? WHERE id = ?
                    """,
                arguments: [
                    date, summary.encoder, summary.videoCodec, summary.audioCodec, summary.bytes, summary.videoFrames,
                    summary.audioFrames, summary.endReason, id,
                ])
        }
    }

    /// Sessions newest first, optionally for one stream.
    public func recent(stream: String? = nil, limit: Int = 50) async throws -> [PublishSessionRecord] {
        try await database.pool.read { db in
            if let stream {
                return try PublishSessionRecord.fetchAll(
                    db, sql: "SELECT * FROM publish_session WHERE stream = ? ORDER BY id DESC LIMIT ?",
                    arguments: [stream, limit])
            }
            return try PublishSessionRecord.fetchAll(
                db, sql: "SELECT * FROM publish_session ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }

    /// Marks sessions left open by a crash as ended, so the log never shows a ghost publisher.
    /// Sessions not yet recorded as ended.
    public func openCount() async throws -> Int {
        try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM publish_session WHERE ended_at IS NULL") ?? 0
        }
    }

    public func closeDangling(reason: String = "server restarted") async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE publish_session SET ended_at = started_at, end_reason = ? WHERE ended_at IS NULL",
                arguments: [reason])
        }
    }
}

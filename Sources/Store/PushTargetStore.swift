import Foundation
import GRDB

/// A push target as stored: the full URL, stream key included (CueCast needs it to publish). Only the server
/// reads `url`; everything it shows masks the key.
public struct PushTargetRecord: Sendable, Codable, Equatable, FetchableRecord {
    public var id: String
    public var stream: String
    public var name: String
    public var url: String
    public var enabled: Bool
    public var createdAt: Date

    public init(id: String, stream: String, name: String, url: String, enabled: Bool, createdAt: Date) {
        self.id = id
        self.stream = stream
        self.name = name
        self.url = url
        self.enabled = enabled
        self.createdAt = createdAt
    }

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// Push targets per stream, kept across restarts.
public struct PushTargetStore: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Stores a new target with a fresh id (`pt_` and 12 hex digits) and returns it.
    public func add(stream: String, name: String, url: String, enabled: Bool) async throws -> PushTargetRecord {
        var generator = SystemRandomNumberGenerator()
        let id = "pt_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        let record = PushTargetRecord(id: id, stream: stream, name: name, url: url, enabled: enabled, createdAt: Date())
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO push_target (id, stream, name, url, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.id, record.stream, record.name, record.url, record.enabled, record.createdAt])
        }
        return record
    }

    public func all() async throws -> [PushTargetRecord] {
        try await database.pool.read { db in
            try PushTargetRecord.fetchAll(db, sql: "SELECT * FROM push_target ORDER BY stream, created_at")
        }
    }

    /// Switches a target on or off; the record after the change, nil if there is no such target on `stream`.
    public func setEnabled(_ enabled: Bool, id: String, stream: String) async throws -> PushTargetRecord? {
        try await database.pool.write { db in
            try db.execute(sql: "UPDATE push_target SET enabled = ? WHERE id = ? AND stream = ?", arguments: [enabled, id, stream])
            return try PushTargetRecord.fetchOne(db, sql: "SELECT * FROM push_target WHERE id = ? AND stream = ?", arguments: [id, stream])
        }
    }

    /// True if the target existed.
    public func remove(id: String, stream: String) async throws -> Bool {
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM push_target WHERE id = ? AND stream = ?", arguments: [id, stream])
            return db.changesCount > 0
        }
    }
}

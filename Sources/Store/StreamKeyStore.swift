import Crypto
import Foundation
import GRDB

/// A stream's key as listed: never the secret, which exists only in the creator's hands.
public struct StreamKeyRecord: Sendable, Codable, Equatable, FetchableRecord {
    public var stream: String
    public var createdAt: Date
    public var revokedAt: Date?

    public var isActive: Bool { revokedAt == nil }

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

public enum StreamKeyError: Error, Equatable, CustomStringConvertible {
    case alreadyHasActiveKey(String)
    case noActiveKey(String)

    public var description: String {
        switch self {
        case .alreadyHasActiveKey(let s): "stream \(s) already has an active key; revoke it first"
        case .noActiveKey(let s): "stream \(s) has no active key"
        }
    }
}

/// Stream keys: created with a random secret, stored only as its SHA-256.
///
/// A plain hash is enough because secrets are 160 random bits: there is nothing to guess from a dictionary.
public struct StreamKeyStore: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Creates a key for `stream` and returns its secret, which is not stored anywhere.
    public func add(stream: String) async throws -> String {
        let secret = Self.makeSecret()
        let hash = Self.hash(secret)
        try await database.pool.write { db in
            let active = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM stream_key WHERE stream = ? AND revoked_at IS NULL", arguments: [stream]) ?? 0
            guard active == 0 else { throw StreamKeyError.alreadyHasActiveKey(stream) }
            try db.execute(
                sql: "INSERT INTO stream_key (stream, key_hash, created_at) VALUES (?, ?, ?)",
                arguments: [stream, hash, Date()])
        }
        return secret
    }

    /// Every stream's newest key record, active or not.
    public func list() async throws -> [StreamKeyRecord] {
        try await database.pool.read { db in
            try StreamKeyRecord.fetchAll(
                db,
                sql: """
                    SELECT stream, created_at, revoked_at FROM stream_key k
                    WHERE id = (SELECT MAX(id) FROM stream_key WHERE stream = k.stream) ORDER BY stream
                    """)
        }
    }

    public func revoke(stream: String) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE stream_key SET revoked_at = ? WHERE stream = ? AND revoked_at IS NULL",
                arguments: [Date(), stream])
            guard db.changesCount > 0 else { throw StreamKeyError.noActiveKey(stream) }
        }
    }

    /// The stream an active secret belongs to, if any.
    public func stream(forSecret secret: String) async throws -> String? {
        let hash = Self.hash(secret)
        return try await database.pool.read { db in
            try String.fetchOne(
                db, sql: "SELECT stream FROM stream_key WHERE key_hash = ? AND revoked_at IS NULL", arguments: [hash])
        }
    }

    /// Whether `stream` has a key that is not revoked, i.e. whether a publisher can claim it by a key of its own.
    public func hasActiveKey(stream: String) async throws -> Bool {
        try await database.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM stream_key WHERE stream = ? AND revoked_at IS NULL", arguments: [stream]) ?? 0 > 0
        }
    }

    /// Whether any key, active or revoked, was ever made for `stream`.
    public func exists(stream: String) async throws -> Bool {
        try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM stream_key WHERE stream = ?", arguments: [stream]) ?? 0 > 0
        }
    }

    static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "sk_" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

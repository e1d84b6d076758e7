import Crypto
import Foundation
import GRDB

/// What an API token may do. Each role may do everything the ones below it may.
public enum APIRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Read live streams and their statistics (`GET /api/v1/streams…`, the stats feed): a dashboard.
    case viewerStats = "viewer-stats"
    /// Also place and list cues, read publish sessions and push states: what a host's assistant needs.
    case `operator`
    /// Everything: stream keys, push targets. The admin token has this role.
    case admin

    public static func < (a: APIRole, b: APIRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A scoped API token as listed: never the secret.
public struct APITokenRecord: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var name: String
    public var role: APIRole
    public var createdAt: Date
    public var revokedAt: Date?

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// Scoped API tokens (`ct_…`), stored only as their SHA-256 like stream keys (160 random bits: nothing to guess).
public struct APITokenStore: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// Creates a token and returns its id and secret; the secret is not stored anywhere.
    public func add(role: APIRole, name: String) async throws -> (id: Int64, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let secret = "ct_" + (0..<20).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        let id = try await database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO api_token (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [name, role.rawValue, StreamKeyStore.hash(secret), Date()])
            return db.lastInsertedRowID
        }
        return (id, secret)
    }

    public func list() async throws -> [APITokenRecord] {
        try await database.pool.read { db in
            try APITokenRecord.fetchAll(db, sql: "SELECT id, name, role, created_at, revoked_at FROM api_token ORDER BY id")
        }
    }

    /// - Throws: `APITokenError.notFound` when no active token has that id.
    public func revoke(id: Int64) async throws {
        try await database.pool.write { db in
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Date(), id])
            guard db.changesCount > 0 else { throw APITokenError.notFound(id) }
        }
    }

    /// The role of an active token, nil for an unknown or revoked one.
    public func role(forSecret secret: String) async throws -> APIRole? {
        let hash = StreamKeyStore.hash(secret)
        return try await database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT role FROM api_token WHERE token_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .flatMap(APIRole.init(rawValue:))
        }
    }
}

public enum APITokenError: Error, Equatable, CustomStringConvertible {
    case notFound(Int64)

    public var description: String {
        switch self {
        case .notFound(let id): "no active API token with id \(id)"
        }
    }
}

import GRDB

/// The next HLS media sequence number per stream, so numbers (and segment URIs) never repeat, even across a
/// server restart.
public struct HLSSequenceStore: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    /// The number the next segment of `stream` gets.
    public func next(stream: String) async throws -> Int {
        try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT next_sequence FROM hls_sequence WHERE stream = ?", arguments: [stream]) ?? 0
        }
    }

    /// Records that numbers below `next` are used; never moves backwards.
    public func advance(stream: String, to next: Int) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO hls_sequence (stream, next_sequence) VALUES (?, ?)
                    ON CONFLICT(stream) DO UPDATE SET next_sequence = MAX(next_sequence, excluded.next_sequence)
                    """, arguments: [stream, next])
        }
    }
}

import Foundation
import GRDB

/// CueCast's durable state: one SQLite file in WAL mode, shared by the server and the CLI.
///
/// WAL lets `cuecast keys add` write while a running server reads, so key changes take effect at once.
public final class Database: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) `cuecast.sqlite` in `directory` and migrates it.
    /// - Throws: `DatabaseOpenError`, naming the file and the cause (a read-only or full disk, no permission).
    public init(directory: String) throws(DatabaseOpenError) {
        let path = (directory as NSString).appendingPathComponent("cuecast.sqlite")
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // SQLite opens a file it may not write read-only and fails only at the first write, deep in the start.
            if let cause = DatabaseOpenError.unwritable(directory: directory, file: path) {
                throw DatabaseOpenError(path: path, directory: directory, underlying: cause)
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseOpenError {
            throw error
        } catch {
            throw DatabaseOpenError(path: path, directory: directory, underlying: error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "stream_key") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stream", .text).notNull().indexed()
                t.column("key_hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }
            try db.create(table: "publish_session") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("stream", .text).notNull().indexed()
                t.column("remote_address", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("ended_at", .datetime)
                t.column("encoder", .text)
                t.column("video_codec", .text)
                t.column("audio_codec", .text)
                t.column("bytes", .integer).notNull().defaults(to: 0)
                t.column("video_frames", .integer).notNull().defaults(to: 0)
                t.column("audio_frames", .integer).notNull().defaults(to: 0)
                t.column("end_reason", .text)
            }
        }
        migrator.registerMigration("v2-hls-sequence") { db in
            try db.create(table: "hls_sequence") { t in
                t.primaryKey("stream", .text)
                t.column("next_sequence", .integer).notNull()
            }
        }
        migrator.registerMigration("v3-cues") { db in
            try db.create(table: "cue") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("id", .text).notNull()
                t.column("stream", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("payload", .text).notNull()
                t.column("duration", .double)
                t.column("pts", .integer).notNull()
                t.column("program_date_time", .datetime).notNull()
                t.column("source", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["stream", "id"])
            }
        }
        migrator.registerMigration("v4-push-targets") { db in
            try db.create(table: "push_target") { t in
                t.primaryKey("id", .text)
                t.column("stream", .text).notNull().indexed()
                t.column("name", .text).notNull()
                t.column("url", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("created_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v5-api-tokens") { db in
            try db.create(table: "api_token") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("token_hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }
        }
        return migrator
    }
}

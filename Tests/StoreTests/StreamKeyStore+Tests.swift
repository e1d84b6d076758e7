import Foundation
import Testing

@testable import Store
import TestSupport

@Suite struct StreamKeyStoreTests {
    @Test func addListRevoke() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let keys = StreamKeyStore(database: try Database(directory: dir.path))
        let secret = try await keys.add(stream: "live/shop1")
        #expect(secret.hasPrefix("sk_"))
        #expect(secret.count - 3 >= 32, "at least 128 bits in hex")
        #expect(try await keys.stream(forSecret: secret) == "live/shop1")
        #expect(try await keys.stream(forSecret: secret + "x") == nil)
        await #expect(throws: StreamKeyError.alreadyHasActiveKey("live/shop1")) { try await keys.add(stream: "live/shop1") }

        try await keys.revoke(stream: "live/shop1")
        #expect(try await keys.stream(forSecret: secret) == nil)
        #expect(try await keys.list().map(\.isActive) == [false])
        await #expect(throws: StreamKeyError.noActiveKey("live/shop1")) { try await keys.revoke(stream: "live/shop1") }

        let second = try await keys.add(stream: "live/shop1")
        #expect(second != secret)
        #expect(try await keys.list().map(\.isActive) == [true])
    }

    @Test func secretIsNeverStored() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let database = try Database(directory: dir.path)
        let secret = try await StreamKeyStore(database: database).add(stream: "live/a")
        // Look in every file SQLite wrote (main file and WAL).
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path).appendingPathComponent(file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) contains the secret")
            #expect(bytes.range(of: Data(secret.dropFirst(3).utf8)) == nil)
        }
    }

    @Test func aSecondConnectionSeesChangesAtOnce() async throws {
        // The CLI and the server open the same file separately.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = StreamKeyStore(database: try Database(directory: dir.path))
        let cli = StreamKeyStore(database: try Database(directory: dir.path))
        let secret = try await cli.add(stream: "live/x")
        #expect(try await server.stream(forSecret: secret) == "live/x")
        try await cli.revoke(stream: "live/x")
        #expect(try await server.stream(forSecret: secret) == nil)
    }

    @Test func sessionsAreRecorded() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let log = PublishSessionLog(database: try Database(directory: dir.path))
        let id = try await log.start(stream: "live/x", remoteAddress: "127.0.0.1:5000")
        let dangling = try await log.start(stream: "live/y", remoteAddress: "127.0.0.1:5001")
        try await log.end(id: id, summary: .init(encoder: "obs", videoCodec: "h264", audioCodec: "aac", bytes: 10, videoFrames: 3, audioFrames: 4, endReason: "deleteStream"))
        try await log.closeDangling()
        let records = try await log.recent()
        #expect(records.map(\.id) == [dangling, id])
        #expect(records[1].videoFrames == 3)
        #expect(records[1].endReason == "deleteStream")
        #expect(records[0].endReason == "server restarted")
        #expect(try await log.recent(stream: "live/x").count == 1)
    }
}

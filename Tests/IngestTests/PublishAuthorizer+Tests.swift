import Foundation
import Media
import RTMP
import Store
import Testing

@testable import Ingest

@Suite struct PublishAuthorizerTests {
    func withKeys(_ body: (StreamKeyStore, PublishAuthorizer) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuecast-auth-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keys = StreamKeyStore(database: try Database(directory: dir))
        try await body(keys, PublishAuthorizer(keys: keys))
    }

    @Test func obsFormKeyAsStreamName() async throws {
        try await withKeys { keys, authorizer in
            let secret = try await keys.add(stream: "live/shop1")
            let result = await authorizer.streamPath(for: PublishRequest(app: "live", name: secret))
            #expect(try result.get() == StreamPath("live/shop1"))
        }
    }

    @Test func urlFormWithKeyParameter() async throws {
        try await withKeys { keys, authorizer in
            let secret = try await keys.add(stream: "live/shop1")
            let ok = await authorizer.streamPath(for: PublishRequest(app: "live", name: "shop1", query: ["key": secret]))
            #expect(try ok.get() == StreamPath("live/shop1"))
            // Another stream's name with this key is refused.
            let other = await authorizer.streamPath(for: PublishRequest(app: "live", name: "shop2", query: ["key": secret]))
            #expect(throws: PublishRefusal.self) { try other.get() }
        }
    }

    @Test func refusalsNeverRepeatTheSecret() async throws {
        try await withKeys { keys, authorizer in
            let secret = try await keys.add(stream: "live/shop1")
            let requests = [
                PublishRequest(app: "other", name: secret),
                PublishRequest(app: "live", name: secret + "0"),
                PublishRequest(app: "live", name: "shop1", query: ["key": secret + "0"]),
                PublishRequest(app: "../etc", name: secret),
            ]
            for request in requests {
                let result = await authorizer.streamPath(for: request)
                guard case .failure(let refusal) = result else {
                    Issue.record("accepted \(request.app)")
                    continue
                }
                #expect(refusal.code == "NetStream.Publish.BadName")
                #expect(!refusal.description.contains(secret))
                #expect(!refusal.description.contains("sk_"))
            }
            try await keys.revoke(stream: "live/shop1")
            let revoked = await authorizer.streamPath(for: PublishRequest(app: "live", name: secret))
            #expect(throws: PublishRefusal.self) { try revoked.get() }
        }
    }
}

import Foundation
import Media
import Store
import Testing
import TestSupport

/// Scoped API tokens against every secured operation the OpenAPI document lists, each with the role it names
/// (`x-cuecast-role`): each token gets 403 exactly where its role is below the operation's, and never 401.
@Suite struct APIRoleTests {
    struct Operation: CustomStringConvertible {
        var method: String
        var path: String
        var role: APIRole
        var description: String { "\(method) \(path)" }
    }

    /// The secured operations of `openapi.json`, with example values in their path parameters.
    static func operations() throws -> [Operation] {
        let url = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("Sources/Web/Pages/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: [Operation] = []
        for (path, methods) in paths {
            for (method, value) in methods {
                guard let operation = value as? [String: Any], (operation["security"] as? [Any])?.isEmpty != true else { continue }
                let role = try #require((operation["x-cuecast-role"] as? String).flatMap(APIRole.init(rawValue:)), "\(method) \(path) names no role")
                let concrete = path.replacingOccurrences(of: "{app}", with: "live").replacingOccurrences(of: "{stream}", with: "roles")
                    .replacingOccurrences(of: "{id}", with: "nope")
                operations.append(Operation(method: method.uppercased(), path: concrete, role: role))
            }
        }
        return operations.sorted { $0.description < $1.description }
    }

    static let bodies = [
        "POST /api/v1/keys": #"{"stream": "live/k-ROLE"}"#, "POST /api/v1/streams/live/roles/cues": #"{"kind": "announcement", "payload": {"text": "hi"}}"#,
        "POST /api/v1/streams/live/roles/pushes": #"{"url": "rtmp://127.0.0.1:9/live/key"}"#, "PATCH /api/v1/streams/live/roles/pushes/nope": #"{"enabled": false}"#,
    ]

    /// The status `token` gets; curl, so the stats feed (an event stream) can be cut after its head.
    static func status(_ server: TestServer, _ operation: Operation, token: String, tag: String) async throws -> Int {
        var arguments = ["-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", "-X", operation.method, "-H", "Authorization: Bearer \(token)"]
        if let body = bodies[operation.description] {
            arguments += ["-H", "Content-Type: application/json", "--data", body.replacingOccurrences(of: "ROLE", with: tag)]
        }
        let output = try await Tool("curl").run(arguments + [server.httpBase + operation.path], timeout: 30, requireSuccess: false)
        return Int(output.text) ?? -1
    }

    @Test func eachRoleGets403ExactlyWhereItShould() async throws {
        let operations = try Self.operations()
        #expect(operations.count >= 13, "\(operations)")
        #expect(Set(operations.map(\.role)) == Set(APIRole.allCases))
        try await withServer { server in
            let store = APITokenStore(database: server.server.database)
            var tokens: [(APIRole, String)] = [(.admin, server.server.adminToken)]
            for role in APIRole.allCases { tokens.append((role, try await store.add(role: role, name: "test \(role.rawValue)").secret)) }
            for (role, token) in tokens {
                for operation in operations {
                    let status = try await Self.status(server, operation, token: token, tag: "\(role.rawValue)-\(token.prefix(5))")
                    if role < operation.role {
                        #expect(status == 403, "\(role.rawValue) → \(operation): \(status)")
                    } else {
                        #expect(status != 403 && status != 401 && status > 0, "\(role.rawValue) → \(operation): \(status)")
                    }
                }
            }
            // The refusal names both roles.
            let refused = try await server.request(.GET, "/api/v1/keys", token: tokens[1].1)
            #expect(refused.body.contains("a viewer-stats token may not do this; it needs the admin role"), "\(refused.body)")
        }
    }

    /// Where a stream is pushed is an operator's business: a viewer-stats token (a dashboard) sees the stream in the
    /// API and the stats feed without its push targets; an operator sees them, keys masked.
    @Test func viewerStatsTokensDoNotSeePushTargets() async throws {
        try await withServer { server in
            let store = APITokenStore(database: server.server.database)
            let viewer = try await store.add(role: .viewerStats, name: "dashboard").secret
            let assistant = try await store.add(role: .operator, name: "assistant").secret
            let publish = try await server.publishLive(StreamPath("live/pushed")!, loops: 3)
            defer { publish.cancel() }
            let added = try await server.request(
                .POST, "/api/v1/streams/live/pushed/pushes", body: #"{"url": "rtmp://127.0.0.1:9/live/secretkey123", "name": "channels"}"#)
            #expect(added.status == 201, "\(added.body)")
            let seen = try await server.request(.GET, "/api/v1/streams/live/pushed", token: assistant).body
            #expect(seen.contains("\"pushes\"") && seen.contains("channels") && !seen.contains("secretkey123"), "\(seen)")
            let hidden = try await server.request(.GET, "/api/v1/streams/live/pushed", token: viewer).body
            #expect(hidden.contains("live/pushed") && !hidden.contains("\"pushes\"") && !hidden.contains("127.0.0.1:9"), "\(hidden)")
            let list = try await server.request(.GET, "/api/v1/streams", token: viewer).body
            #expect(list.contains("live/pushed") && !list.contains("\"pushes\""), "\(list)")
            let feed = try await Tool("curl").run(
                ["-s", "-m", "3", "-H", "Authorization: Bearer \(viewer)", server.httpBase + "/api/v1/stats/live"], timeout: 30, requireSuccess: false).text
            #expect(feed.contains("event: stats") && feed.contains("live/pushed") && !feed.contains("\"pushes\""), "\(feed.prefix(600))")
            let operatorFeed = try await Tool("curl").run(
                ["-s", "-m", "3", "-H", "Authorization: Bearer \(assistant)", server.httpBase + "/api/v1/stats/live"], timeout: 30, requireSuccess: false).text
            #expect(operatorFeed.contains("\"pushes\"") && operatorFeed.contains("channels"), "\(operatorFeed.prefix(600))")
        }
    }

    @Test func revokedAndUnknownTokensGet401AndTheCLIManagesTokens() async throws {
        try await withServer { server in
            let dataDir = server.server.configuration.dataDir
            let secret = try await Tool(CLITests.binary).run(["tokens", "add", "--role", "operator", "--name", "assistant", "--quiet", "--data-dir", dataDir]).text
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.hasPrefix("ct_"))
            #expect(try await server.request(.GET, "/api/v1/sessions", token: secret).status == 200)
            let listed = try await Tool(CLITests.binary).run(["tokens", "list", "--data-dir", dataDir]).text
            #expect(listed.contains("operator\tassistant") && listed.contains("active") && !listed.contains(secret))
            let id = try #require(listed.split(separator: "\t").first.map(String.init))
            _ = try await Tool(CLITests.binary).run(["tokens", "revoke", id, "--data-dir", dataDir])
            #expect(try await server.request(.GET, "/api/v1/sessions", token: secret).status == 401)
            #expect(try await server.request(.GET, "/api/v1/sessions", token: "ct_" + String(repeating: "0", count: 40)).status == 401)
            // Revoking it again is refused by the store (exit 1, no usage); a bad role is a usage error (exit 64).
            let again = try await Tool(CLITests.binary).run(["tokens", "revoke", id, "--data-dir", dataDir], requireSuccess: false)
            #expect(again.status == 1 && again.stderr.contains("no active API token with id \(id)") && !again.stderr.contains("Usage:"), "\(again.stderr)")
            let bad = try await Tool(CLITests.binary).run(["tokens", "add", "--role", "root", "--data-dir", dataDir], requireSuccess: false)
            #expect(bad.status == 64 && bad.stderr.contains("viewer-stats, operator, admin") && bad.stderr.contains("Usage: cuecast tokens add"), "\(bad.stderr)")
            // Only the hash is stored.
            let rows = try await Tool("python3").run(["-c", "import sqlite3; print(sqlite3.connect('\(dataDir)/cuecast.sqlite').execute('select * from api_token').fetchall())"]).text
            #expect(!rows.contains(secret) && rows.contains("operator"))
        }
    }
}

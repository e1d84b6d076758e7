import ArgumentParser
import Foundation
import Store

/// `cuecast tokens add|list|revoke`: scoped API tokens, shared with a running server through the database.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage scoped API tokens: operator (cues, stats, sessions) and viewer-stats (stats only).",
        discussion: """
            Roles: viewer-stats reads live streams and the stats feed; operator also places and lists cues and reads
            sessions and push states; admin (the admin token, or a token made with --role admin) does everything,
            stream keys and push targets included. A token is printed once and stored only as a hash.
            """,
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is printed once.")
        @Option(help: "viewer-stats, operator or admin.") var role: String
        @Option(help: "A label to tell tokens apart in `tokens list`.") var name = "token"
        @Flag(help: "Print only the token (for scripts).") var quiet = false
        @OptionGroup var data: DataOptions

        // In validate(), not run(): ArgumentParser then prints this command's usage with the error, not the root's.
        func validate() throws {
            guard APIRole(rawValue: role) != nil else {
                throw ValidationError("--role must be one of \(APIRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            guard let role = APIRole(rawValue: role) else { preconditionFailure("checked in validate()") }
            let (id, secret) = try await APITokenStore(database: try data.open()).add(role: role, name: name)
            if quiet {
                print(secret)
            } else {
                print("Token \(id) (\(role.rawValue), \"\(name)\"), shown only now:\n\n  \(secret)\n\nUse it as: Authorization: Bearer \(secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var data: DataOptions

        func run() async throws {
            let tokens = try await APITokenStore(database: try data.open()).list()
            if tokens.isEmpty { print("No API tokens. Add one with `cuecast tokens add --role operator`.") }
            for token in tokens {
                let state = token.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
                print("\(token.id)\t\(token.role.rawValue)\t\(token.name)\tcreated \(token.createdAt.formatted(.iso8601))\t\(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id; a running server refuses it at once.")
        @Argument(help: "The token's id, from `tokens list`.") var id: Int64
        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await APITokenStore(database: try data.open()).revoke(id: id)
            } catch let error as APITokenError {
                throw CommandFailure(error.description)
            }
            print("Token \(id) revoked.")
        }
    }
}

import Crypto
import Foundation
import Hummingbird
import Store

/// Lets a request through only with `Authorization: Bearer <token>` of at least `minimum`'s role: the admin
/// token (admin), or a scoped token from `cuecast tokens add` (its role).
///
/// 401 when the token is missing, unknown or revoked; 403, naming both roles, when it may not do this.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = CueCastRequestContext
    let adminToken: String
    let tokens: APITokenStore?
    let minimum: APIRole

    init(adminToken: String, tokens: APITokenStore?, minimum: APIRole) {
        self.adminToken = adminToken
        self.tokens = tokens
        self.minimum = minimum
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "missing Authorization: Bearer <token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let prefix = "Bearer "
        let presented = header.hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
        let role: APIRole?
        if Self.constantTimeEqual(presented, adminToken) {
            role = .admin
        } else if presented.hasPrefix("ct_"), let tokens {
            role = try await tokens.role(forSecret: presented)
        } else {
            role = nil
        }
        guard let role else {
            throw APIError(.unauthorized, "invalid or revoked token", headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        guard role >= minimum else {
            throw APIError(
                .forbidden, "a \(role.rawValue) token may not do this; it needs the \(minimum.rawValue) role",
                headers: [.wwwAuthenticate: "Bearer error=\"insufficient_scope\""])
        }
        var context = context
        context.role = role
        return try await next(request, context)
    }

    /// Compares without an early exit, so response time says nothing about how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

import Foundation
import Hummingbird

/// An API error: a status and a message, rendered as `{"error": {"status": 404, "message": "…"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var field: String?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            var status: Int
            var message: String
            var field: String?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = Self.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: try body()))
    }

    static let contentType = "application/json; charset=utf-8"

    /// The JSON body (`{"error": {…}}`), for answers written outside the router too.
    func body() throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(Body(error: .init(status: status.code, message: message, field: field))))
    }
}

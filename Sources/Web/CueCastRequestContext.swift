import Foundation
import Hummingbird
import Store

/// The request context for every route: Hummingbird's basics plus a JSON encoder that writes readable output
/// (ISO 8601 dates, sorted keys, no escaped slashes in stream paths).
public struct CueCastRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address, for counting distinct viewers.
    public let remoteAddress: String?
    /// The role of the request's bearer token, once `BearerTokenMiddleware` has checked it.
    public var role: APIRole?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

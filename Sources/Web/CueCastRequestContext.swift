import Foundation
import Hummingbird

/// The request context for every route: Hummingbird's basics plus a JSON encoder that writes readable output
/// (ISO 8601 dates, sorted keys, no escaped slashes in stream paths).
public struct CueCastRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's address, for counting distinct viewers.
    public let remoteAddress: String?

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

import Foundation
import Hummingbird

/// The request context for every route: Hummingbird's basics plus a JSON encoder that writes readable output
/// (ISO 8601 dates, sorted keys, no escaped slashes in stream paths).
public struct CueCastRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

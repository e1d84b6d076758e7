/// The Playlist Delivery Directives of a Low-Latency HLS request (draft-pantos-hls-rfc8216bis §6.2.5):
/// `_HLS_msn` and `_HLS_part` for a blocking reload. Pure: parsed from the query, judged against where the
/// playlist stands.
public struct DeliveryDirectives: Sendable, Equatable {
    /// `_HLS_msn`: hold the answer until the playlist holds this Media Sequence Number.
    public var sequence: Int?
    /// `_HLS_part`: …and this part of it.
    public var part: Int?
    /// `_HLS_skip`: a delta update (§6.2.5.1), leaving out the segments older than the skip boundary.
    public var skip: Skip?

    public enum Skip: String, Sendable {
        /// `YES`: skip segments.
        case segments = "YES"
        /// `v2`: skip segments and the date ranges before the boundary too.
        case segmentsAndDateRanges = "v2"
    }

    public init(sequence: Int? = nil, part: Int? = nil, skip: Skip? = nil) {
        self.sequence = sequence
        self.part = part
        self.skip = skip
    }

    /// A directive a server must refuse with 400 (§6.2.5.2), with a reason a developer can act on.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads the directives from a query's name–value pairs (percent-decoded). Other names are ignored.
    /// - Throws: `Failure` for a value that is not a non-negative decimal integer, `_HLS_part` without `_HLS_msn`,
    ///   or `_HLS_skip` other than `YES` or `v2`.
    public init(query: [(name: String, value: String)]) throws(Failure) {
        func number(_ name: String) throws(Failure) -> Int? {
            guard let value = query.last(where: { $0.name == name })?.value else { return nil }
            guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let number = Int(value) else {
                throw Failure(description: "\(name) must be a non-negative integer, not \"\(value.prefix(40))\"")
            }
            return number
        }
        sequence = try number("_HLS_msn")
        part = try number("_HLS_part")
        if part != nil && sequence == nil { throw Failure(description: "_HLS_part needs _HLS_msn") }
        if let value = query.last(where: { $0.name == "_HLS_skip" })?.value {
            guard let skip = Skip(rawValue: value) else { throw Failure(description: "_HLS_skip must be YES or v2, not \"\(value.prefix(40))\"") }
            self.skip = skip
        }
    }

    public var blocks: Bool { sequence != nil }

    /// How far ahead of the last part a request may ask (§6.2.5.2): three part targets' worth, at least 3.
    public static func advancePartLimit(partTarget: Double) -> Int {
        partTarget < 1 ? Int((3 / partTarget).rounded(.up)) : 3
    }

    /// Whether a blocking request asks too far ahead to be held: more than two segments past the last one
    /// listed, or more parts past the last part than the advance part limit. `last` is the last Media Sequence
    /// Number listed and its last part (nil when it is whole); `partsPerSegment` estimates a segment's parts.
    public func isTooFarAhead(last: (sequence: Int, part: Int?), partTarget: Double, partsPerSegment: Int) -> Bool {
        guard let sequence else { return false }
        if sequence > last.sequence + 2 { return true }
        guard let part else { return false }
        // Count in parts from the last one listed: a whole last segment ends before the next one's part 0.
        let lastIndex = last.part ?? (partsPerSegment - 1)
        let asked = (sequence - last.sequence) * partsPerSegment + part
        return asked - lastIndex > Self.advancePartLimit(partTarget: partTarget)
    }
}

import Foundation

/// What a viewer has on screen now, decided once for every place that asks: the state API for viewers who join
/// late (`CueState`) and the playlist, whose pins, coupons and lotteries stay listed after their segment slid
/// out while they are still on screen.
///
/// The newest cue of each kind is on screen unless it is over: past its `duration`, past its payload's end
/// (`validUntil` for a coupon, `endsAt` for a lottery), or, for a pin, followed by an unpin.
public enum CueScreen {
    public struct Entry: Sendable {
        public var kind: CueKind
        public var start: Date
        public var duration: Double?
        /// When the payload says it ends (`validUntil`, `endsAt`), if it does.
        public var payloadEnd: Date?

        public init(kind: CueKind, start: Date, duration: Double?, payloadEnd: Date?) {
            self.kind = kind
            self.start = start
            self.duration = duration
            self.payloadEnd = payloadEnd
        }
    }

    /// Kinds that stay on screen until something ends them; an announcement or a custom cue is a moment.
    public static let lasting: Set<CueKind> = [.productPin, .coupon, .lottery]

    /// Indices of `entries` (oldest first) on screen at `now`.
    public static func onScreen(_ entries: [Entry], now: Date) -> [Int] {
        let lastUnpin = entries.lastIndex { $0.kind == .productUnpin }
        return entries.indices.filter { index in
            let entry = entries[index]
            guard entry.kind != .productUnpin, entry.kind != .custom,
                entries.lastIndex(where: { $0.kind == entry.kind }) == index
            else { return false }
            if let duration = entry.duration, entry.start.addingTimeInterval(duration) <= now { return false }
            if let end = entry.payloadEnd, end <= now { return false }
            if entry.kind == .productPin, let lastUnpin, lastUnpin > index { return false }
            return true
        }
    }

    /// The end a payload declares for its kind, from its JSON fields.
    public static func payloadEnd(kind: CueKind, fields: [String: Any]) -> Date? {
        let field: String
        switch kind {
        case .coupon: field = "validUntil"
        case .lottery: field = "endsAt"
        default: return nil
        }
        return (fields[field] as? String).flatMap(CueValidator.parseDate)
    }

    /// The end a player JSON's payload declares (`{"payload": {...}}`).
    public static func payloadEnd(kind: CueKind, playerJSON: String) -> Date? {
        guard lasting.contains(kind), kind != .productPin,
            let object = (try? JSONSerialization.jsonObject(with: Data(playerJSON.utf8))) as? [String: Any],
            let payload = object["payload"] as? [String: Any]
        else { return nil }
        return payloadEnd(kind: kind, fields: payload)
    }
}

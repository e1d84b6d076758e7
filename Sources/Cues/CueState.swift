import Foundation

/// What is on a viewer's screen now, from the newest cue of each kind: for viewers who join late.
public struct CueState: Sendable, Codable, Equatable {
    public var pinnedProduct: CueEvent?
    public var openCoupon: CueEvent?
    public var runningLottery: CueEvent?
    public var lastAnnouncement: CueEvent?

    public init(latestByKind: [CueEvent], now: Date = Date()) {
        func latest(_ kind: CueKind) -> CueEvent? { latestByKind.first { $0.kind == kind } }
        func fields(_ event: CueEvent) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) as? [String: Any] ?? [:]
        }
        func notExpired(_ event: CueEvent, dateField: String? = nil) -> Bool {
            if let duration = event.duration, event.programDateTime.addingTimeInterval(duration) <= now { return false }
            if let dateField, let text = fields(event)[dateField] as? String, let end = CueValidator.parseDate(text), end <= now {
                return false
            }
            return true
        }
        if let pin = latest(.productPin), notExpired(pin) {
            let unpin = latest(.productUnpin)
            if unpin == nil || unpin!.sequence < pin.sequence { pinnedProduct = pin }
        }
        openCoupon = latest(.coupon).flatMap { notExpired($0, dateField: "validUntil") ? $0 : nil }
        runningLottery = latest(.lottery).flatMap { notExpired($0, dateField: "endsAt") ? $0 : nil }
        lastAnnouncement = latest(.announcement).flatMap { notExpired($0) ? $0 : nil }
    }

    /// Whether `event` is still on screen (its DATERANGE stays in the playlist after its segment slides out).
    public func isActive(id: String) -> Bool {
        [pinnedProduct, openCoupon, runningLottery].contains { $0?.id == id }
    }
}

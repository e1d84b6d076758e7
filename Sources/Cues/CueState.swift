import Foundation

/// What is on a viewer's screen now, from the newest cue of each kind: for viewers who join late.
public struct CueState: Sendable, Codable, Equatable {
    public var pinnedProduct: CueEvent?
    public var openCoupon: CueEvent?
    public var runningLottery: CueEvent?
    public var lastAnnouncement: CueEvent?

    public init(latestByKind: [CueEvent], now: Date = Date()) {
        let events = latestByKind.sorted { $0.sequence < $1.sequence }
        let entries = events.map { event in
            let fields = (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) as? [String: Any] ?? [:]
            return CueScreen.Entry(
                kind: event.kind, start: event.programDateTime, duration: event.duration,
                payloadEnd: CueScreen.payloadEnd(kind: event.kind, fields: fields))
        }
        for index in CueScreen.onScreen(entries, now: now) {
            let event = events[index]
            switch event.kind {
            case .productPin: pinnedProduct = event
            case .coupon: openCoupon = event
            case .lottery: runningLottery = event
            case .announcement: lastAnnouncement = event
            default: break
            }
        }
    }

    /// Whether `event` is still on screen (its DATERANGE stays in the playlist after its segment slides out).
    public func isActive(id: String) -> Bool {
        [pinnedProduct, openCoupon, runningLottery].contains { $0?.id == id }
    }
}

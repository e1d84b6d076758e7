import Foundation
import Testing

@testable import Cues

@Suite struct CueScreenTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func entry(_ kind: CueKind, ago: Double, duration: Double? = nil, endsIn: Double? = nil) -> CueScreen.Entry {
        CueScreen.Entry(kind: kind, start: now.addingTimeInterval(-ago), duration: duration, payloadEnd: endsIn.map { now.addingTimeInterval($0) })
    }

    @Test func theNewestOfEachKindUntilItIsOver() {
        let entries = [
            entry(.productPin, ago: 60), entry(.coupon, ago: 50, endsIn: 10), entry(.productPin, ago: 40),
            entry(.lottery, ago: 30, endsIn: -1), entry(.announcement, ago: 20, duration: 30), entry(.custom, ago: 10),
        ]
        #expect(CueScreen.onScreen(entries, now: now) == [1, 2, 4], "newest pin, open coupon, announcement within its duration")
    }

    @Test func anUnpinEndsOnlyTheEarlierPins() {
        #expect(CueScreen.onScreen([entry(.productPin, ago: 20), entry(.productUnpin, ago: 10)], now: now).isEmpty)
        #expect(CueScreen.onScreen([entry(.productUnpin, ago: 20), entry(.productPin, ago: 10)], now: now) == [1])
    }

    /// The rule the playlist used to have on its own ignored `validUntil` and `endsAt`; now one rule reads them.
    @Test func payloadEndsComeFromTheJSON() {
        let json = #"{"id":"c","kind":"coupon","payload":{"code":"X","validUntil":"2027-01-15T08:00:00Z"}}"#
        #expect(CueScreen.payloadEnd(kind: .coupon, playerJSON: json) == CueValidator.parseDate("2027-01-15T08:00:00Z"))
        let lottery = #"{"payload":{"endsAt":"2027-01-15T08:00:00.500Z"}}"#
        #expect(CueScreen.payloadEnd(kind: .lottery, playerJSON: lottery) != nil)
        #expect(CueScreen.payloadEnd(kind: .productPin, playerJSON: json) == nil)
    }
}

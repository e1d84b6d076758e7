import Foundation
import Testing

@testable import Cues

@Suite struct CueValidatorTests {
    let validator = CueValidator(maxPayloadBytes: 1024)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func validate(_ json: String) throws(CueValidationError) -> CueRequest {
        try validator.validate(json: Data(json.utf8), now: now)
    }

    @Test func pinIsAcceptedAndCanonical() throws {
        let request = try validate(#"{"kind":"product.pin","id":"pin-1","payload":{"title":"Tea set","sku":"A1","price":199,"currency":"CNY","image":"https://x/y.jpg"}}"#)
        #expect(request.kind == .productPin)
        #expect(request.id == "pin-1")
        #expect(request.payload == #"{"currency":"CNY","image":"https://x/y.jpg","price":199,"sku":"A1","title":"Tea set"}"#)
    }

    @Test(arguments: [
        (#"{"kind":"product.pin","payload":{"title":"T","price":1,"currency":"CNY"}}"#, "payload.sku"),
        (#"{"kind":"product.pin","payload":{"sku":"A","title":"T","price":"1","currency":"CNY"}}"#, "payload.price"),
        (#"{"kind":"product.pin","payload":{"sku":"A","title":"T","price":1,"currency":"yuan"}}"#, "payload.currency"),
        (#"{"kind":"product.pin","payload":{"sku":"A","title":"T","price":1,"currency":"CNY","link":"javascript:x"}}"#, "payload.link"),
        (#"{"kind":"coupon","payload":{"code":"C","title":"T","discount":5}}"#, "payload.validUntil"),
        (#"{"kind":"lottery","payload":{"id":"L","title":"T","endsAt":"tomorrow"}}"#, "payload.endsAt"),
        (#"{"kind":"announcement","payload":{}}"#, "payload.text"),
        (#"{"kind":"flash.sale","payload":{}}"#, "kind"),
        (#"{"payload":{}}"#, "kind"),
        (#"{"kind":"custom","payload":[1]}"#, "payload"),
        (#"{"kind":"custom","payload":{},"colour":"red"}"#, "colour"),
        (#"{"kind":"custom","payload":{},"id":"has space"}"#, "id"),
        (#"{"kind":"custom","payload":{},"duration":-1}"#, "duration"),
        (#"{"kind":"custom","payload":{},"at":"2020-01-01T00:00:00Z"}"#, "at"),
    ])
    func refusalsNameTheField(json: String, field: String) {
        #expect {
            _ = try validate(json)
        } throws: { error in
            (error as? CueValidationError)?.field == field && (error as? CueValidationError)?.kind == .invalid
        }
    }

    @Test func malformedJSON() {
        #expect(throws: CueValidationError.invalid(nil, "body is not valid JSON")) { _ = try validate("{nope") }
        #expect(throws: CueValidationError.invalid(nil, "body must be a JSON object")) { _ = try validate("[1]") }
    }

    @Test func payloadSizeLimit() throws {
        let fits = String(repeating: "a", count: 1024 - #"{"t":""}"#.count)
        _ = try validate(#"{"kind":"custom","payload":{"t":"\#(fits)"}}"#)
        #expect {
            _ = try validate(#"{"kind":"custom","payload":{"t":"\#(fits)a"}}"#)
        } throws: { error in
            (error as? CueValidationError)?.kind == .tooLarge && (error as? CueValidationError)?.field == "payload"
        }
    }

    @Test func scheduledCueWithinTheLiveWindow() throws {
        let request = try validate(#"{"kind":"announcement","payload":{"text":"hi"},"at":"2027-01-15T08:00:10.500Z"}"#)
        #expect(request.at == Date(timeIntervalSince1970: 1_800_000_010.5))
    }
}

@Suite struct RateLimiterTests {
    @Test func burstThenSteadyRate() {
        var limiter = RateLimiter(rate: 10, burst: 20)
        let start = Date(timeIntervalSince1970: 0)
        for _ in 0..<20 { #expect((try? limiter.take("s", now: start).get()) != nil) }
        guard case .failure(let retry) = limiter.take("s", now: start) else {
            Issue.record("21st cue in the same instant was accepted")
            return
        }
        #expect(abs(retry.seconds - 0.1) < 1e-9)
        // Another stream has its own bucket.
        #expect((try? limiter.take("other", now: start).get()) != nil)
        // After 0.1 s one more token.
        #expect((try? limiter.take("s", now: start.addingTimeInterval(0.1)).get()) != nil)
        #expect((try? limiter.take("s", now: start.addingTimeInterval(0.1)).get()) == nil)
    }
}

@Suite struct ID3AndDateRangeTests {
    @Test func id3TagLayout() {
        let tag = ID3Tag.userText(description: "cuecast", text: "{}")
        #expect(Array(tag[0..<6]) == Array("ID3".utf8) + [4, 0, 0])
        let frameSize = 1 + 7 + 1 + 2
        #expect(Array(tag[6..<10]) == [0, 0, 0, UInt8(10 + frameSize)])
        #expect(Array(tag[10..<14]) == Array("TXXX".utf8))
        #expect(Array(tag[14..<18]) == [0, 0, 0, UInt8(frameSize)])
        #expect(tag[20] == 3)
        #expect(Array(tag.suffix(2)) == Array("{}".utf8))
    }

    @Test func synchsafeSizes() {
        #expect(ID3Tag.synchsafe(127) == [0, 0, 0, 127])
        #expect(ID3Tag.synchsafe(128) == [0, 0, 1, 0])
        #expect(ID3Tag.synchsafe(0x0FFF_FFFF) == [0x7F, 0x7F, 0x7F, 0x7F])
    }

    @Test func pinsEndOnNextAndPayloadIsAlwaysAValidQuotedString() {
        let json = #"{"text":"quote \" comma , newline \n"}"#
        let pin = DateRange(id: "p1", kind: .productPin, startDate: Date(timeIntervalSince1970: 0), duration: nil, playerJSON: json)
            .render { _ in "1970-01-01T00:00:00.000Z" }
        #expect(pin.hasPrefix(#"#EXT-X-DATERANGE:ID="p1",CLASS="com.cuecast.product.pin",START-DATE="1970-01-01T00:00:00.000Z",END-ON-NEXT=YES,X-CUECAST-PAYLOAD=""#))
        let encoded = pin.components(separatedBy: #"X-CUECAST-PAYLOAD=""#)[1].dropLast()
        #expect(!encoded.contains("\"") && !encoded.contains(",") && !encoded.contains("\n"))
        #expect(String(decoding: Data(base64Encoded: String(encoded))!, as: UTF8.self) == json)
        let coupon = DateRange(id: "c1", kind: .coupon, startDate: Date(timeIntervalSince1970: 0), duration: 30, playerJSON: "{}")
            .render { _ in "x" }
        #expect(coupon.contains("DURATION=30.000"))
        #expect(!coupon.contains("END-ON-NEXT"))
    }
}

@Suite struct CueStateTests {
    func event(_ sequence: Int64, _ kind: CueKind, payload: String = "{}", duration: Double? = nil, at: Date = Date(timeIntervalSince1970: 100)) -> CueEvent {
        CueEvent(sequence: sequence, id: "c\(sequence)", stream: "live/x", kind: kind, payload: payload, duration: duration, pts: 0, programDateTime: at, source: .api, createdAt: at)
    }

    @Test func unpinClearsThePin() {
        let now = Date(timeIntervalSince1970: 200)
        #expect(CueState(latestByKind: [event(1, .productPin)], now: now).pinnedProduct?.id == "c1")
        #expect(CueState(latestByKind: [event(1, .productPin), event(2, .productUnpin)], now: now).pinnedProduct == nil)
        #expect(CueState(latestByKind: [event(3, .productPin), event(2, .productUnpin)], now: now).pinnedProduct?.id == "c3")
    }

    @Test func expiredCouponsAndLotteriesAreGone() {
        let now = Date(timeIntervalSince1970: 200)
        let open = event(1, .coupon, payload: #"{"validUntil":"1970-01-01T00:05:00Z"}"#)
        let closed = event(2, .lottery, payload: #"{"endsAt":"1970-01-01T00:01:00Z"}"#)
        let state = CueState(latestByKind: [open, closed, event(3, .announcement, duration: 50)], now: now)
        #expect(state.openCoupon?.id == "c1")
        #expect(state.runningLottery == nil)
        #expect(state.lastAnnouncement == nil)
    }
}

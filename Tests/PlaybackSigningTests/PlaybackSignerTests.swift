import Foundation
import Testing

@testable import PlaybackSigning

@Suite struct PlaybackSignerTests {
    let signer = PlaybackSigner(secret: "play-secret", apps: ["live"])
    let before = Date(timeIntervalSince1970: 1_799_999_000)

    // Expected signatures from Python's hmac module, not from this code.
    @Test func tokensMatchAnIndependentHMAC() {
        let expiry = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(signer.token(scope: "live/shop1", expiry: expiry) == "1800000000.b49a16e7b56d88c5336dbf2e8d7c503d")
        #expect(signer.token(scope: "live", expiry: expiry) == "1800000000.4968923cf3dd7eeae2c61ffb2b92e998")
    }

    @Test func aStreamOrAppTokenAdmitsUntilItExpires() {
        let expiry = Date(timeIntervalSince1970: 1_800_000_000)
        let stream = signer.token(scope: "live/shop1", expiry: expiry)
        let app = signer.token(scope: "live", expiry: expiry)
        #expect(signer.refusal(token: stream, app: "live", stream: "shop1", now: before) == nil)
        #expect(signer.refusal(token: app, app: "live", stream: "shop2", now: before) == nil)
        #expect(signer.refusal(token: stream, app: "live", stream: "shop2", now: before) == .mismatch)
        #expect(signer.refusal(token: stream, app: "live", stream: "shop1", now: expiry) == .expired(expiry))
        #expect(signer.refusal(token: stream.uppercased(), app: "live", stream: "shop1", now: before) == nil, "hex in either case")
    }

    @Test func forgedAndBrokenTokensAreRefusedWithTheirReason() {
        let expiry = Date(timeIntervalSince1970: 1_800_000_000)
        let token = signer.token(scope: "live/shop1", expiry: expiry)
        let other = PlaybackSigner(secret: "another", apps: nil).token(scope: "live/shop1", expiry: expiry)
        // Moving the expiry breaks the signature.
        let extended = "1900000000." + token.split(separator: ".")[1]
        #expect(signer.refusal(token: other, app: "live", stream: "shop1", now: before) == .mismatch)
        #expect(signer.refusal(token: extended, app: "live", stream: "shop1", now: before) == .mismatch)
        for broken in ["abc", "1800000000", "1800000000.xyz", "x.b49a16e7b56d88c5336dbf2e8d7c503d", "1800000000.b49a16e7b56d88c5336dbf2e8d7c503", "1.2.3"] {
            #expect(signer.refusal(token: broken, app: "live", stream: "shop1", now: before) == .malformed, "\(broken)")
        }
        #expect(signer.refusal(token: nil, app: "live", stream: "shop1", now: before) == .missing)
        #expect(signer.refusal(token: "", app: "live", stream: "shop1", now: before) == .missing)
        #expect(PlaybackSigner.Refusal.missing.description.contains("?token="))
    }

    @Test func onlyTheListedAppsNeedTokens() {
        #expect(signer.refusal(token: nil, app: "open", stream: "s", now: before) == nil)
        #expect(PlaybackSigner(secret: "s").requiresToken(app: "anything"))
    }

    @Test func tokenIsReadFromAQueryString() {
        #expect(PlaybackSigner.token(inQuery: "_HLS_msn=3&token=17.ab") == "17.ab")
        #expect(PlaybackSigner.token(inQuery: "token=17%2Eab") == "17.ab")
        #expect(PlaybackSigner.token(inQuery: "xtoken=1") == nil)
        #expect(PlaybackSigner.token(inQuery: "") == nil)
    }
}

@Suite struct PlaylistSignerTests {
    @Test func everyFetchedURIGetsTheToken() {
        let playlist = """
            #EXTM3U
            #EXT-X-VERSION:9
            #EXT-X-MAP:URI="init-3.mp4"
            #EXT-X-DATERANGE:ID="c1",START-DATE="2026-11-30T12:00:00.000Z",X-PRODUCT-URI="https://shop/1"
            #EXT-X-PART:DURATION=0.2,URI="p1.m4s",INDEPENDENT=YES
            #EXTINF:2.0,
            seg1.m4s
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI="p2.m4s"
            #EXT-X-STREAM-INF:BANDWIDTH=1
            index.m3u8?a=1

            """
        let signed = PlaylistSigner.sign(playlist, token: "17.ab")
        #expect(signed == """
            #EXTM3U
            #EXT-X-VERSION:9
            #EXT-X-MAP:URI="init-3.mp4?token=17.ab"
            #EXT-X-DATERANGE:ID="c1",START-DATE="2026-11-30T12:00:00.000Z",X-PRODUCT-URI="https://shop/1"
            #EXT-X-PART:DURATION=0.2,URI="p1.m4s?token=17.ab",INDEPENDENT=YES
            #EXTINF:2.0,
            seg1.m4s?token=17.ab
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI="p2.m4s?token=17.ab"
            #EXT-X-STREAM-INF:BANDWIDTH=1
            index.m3u8?a=1&token=17.ab

            """)
    }
}

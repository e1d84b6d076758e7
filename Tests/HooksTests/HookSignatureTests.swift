import Foundation
import Testing

@testable import Hooks

@Suite struct HookSignatureTests {
    // The expected value comes from Python's hmac module, not from this code.
    @Test func matchesAnIndependentHMAC() {
        let body = Data(#"{"action":"publish"}"#.utf8)
        #expect(HookSignature.sign(body, secret: "hook-secret-1") == "sha256=af9b0a6d89a1f699c917910b86ad74f37e547b6eb6bcb95ce3f69566e66755aa")
    }

    @Test func verifiesOnlyTheSameBodyAndSecret() {
        let body = Data(#"{"action":"publish"}"#.utf8)
        let signature = HookSignature.sign(body, secret: "s1")
        #expect(HookSignature.verify(signature, body: body, secret: "s1"))
        #expect(!HookSignature.verify(signature, body: body, secret: "s2"))
        #expect(!HookSignature.verify(signature, body: Data(#"{"action":"play"}"#.utf8), secret: "s1"))
        #expect(!HookSignature.verify(String(signature.dropFirst(7)), body: body, secret: "s1"))
        #expect(!HookSignature.verify("sha256=zz", body: body, secret: "s1"))
    }
}

@Suite struct HookEventTests {
    @Test func bodyCarriesEveryFieldAndNeverTheKey() throws {
        let event = HookEvent(
            action: .publishDone, app: "live", stream: "shop1", clientAddress: "203.0.113.5:50122",
            query: ["key": "sk_secret", "cueSEI": "1"], sessionID: "00ab", protocol: "rtmps", time: Date(timeIntervalSince1970: 1_800_000_000.25))
        let body = event.body()
        #expect(!String(decoding: body, as: UTF8.self).contains("sk_secret"))
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(object["action"] as? String == "publish_done")
        #expect(object["app"] as? String == "live")
        #expect(object["stream"] as? String == "shop1")
        #expect(object["clientAddress"] as? String == "203.0.113.5:50122")
        #expect(object["query"] as? [String: String] == ["cueSEI": "1"])
        #expect(object["sessionID"] as? String == "00ab")
        #expect(object["protocol"] as? String == "rtmps")
        #expect(object["time"] as? String == "2027-01-15T08:00:00.250Z")
        #expect(Set(object.keys) == ["action", "app", "stream", "clientAddress", "query", "sessionID", "protocol", "time"])
    }

    @Test func sessionIDsAreSixteenHexDigitsAndDiffer() {
        let ids = (0..<100).map { _ in HookEvent.newSessionID() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.count == 16 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test func doneEventKeepsTheSessionAndRestampsTime() {
        let event = HookEvent(action: .publish, app: "a", stream: "b", clientAddress: "c", query: [:], sessionID: "s", protocol: "rtmp", time: Date(timeIntervalSince1970: 0))
        let done = event.with(action: .publishDone, time: Date(timeIntervalSince1970: 60))
        #expect(done.action == .publishDone && done.sessionID == "s" && done.stream == "b")
        #expect(done.time == "1970-01-01T00:01:00.000Z")
        #expect(HookEvent.Action.publish.asksForAdmission && !HookEvent.Action.playDone.asksForAdmission)
    }
}

@Suite struct HookVerdictTests {
    @Test func twoHundredsAllow() {
        #expect(HookVerdict.from(status: 200, body: Data()) == .allow(renamedTo: nil))
        #expect(HookVerdict.from(status: 204, body: Data(" \n".utf8)) == .allow(renamedTo: nil))
        #expect(HookVerdict.from(status: 200, body: Data(#"{"ok":true}"#.utf8)) == .allow(renamedTo: nil))
        #expect(HookVerdict.from(status: 200, body: Data(#"{"stream":null}"#.utf8)) == .allow(renamedTo: nil))
        #expect(HookVerdict.from(status: 200, body: Data(#"{"stream":"shop1-main"}"#.utf8)) == .allow(renamedTo: "shop1-main"))
    }

    @Test func everythingElseRefusesWithAReason() {
        #expect(HookVerdict.from(status: 403, body: Data(#"{"reason":"merchant suspended"}"#.utf8)) == .refuse(reason: "hook answered 403: merchant suspended"))
        #expect(HookVerdict.from(status: 401, body: Data("no\nway".utf8)) == .refuse(reason: "hook answered 401: noway"))
        #expect(HookVerdict.from(status: 500, body: Data()) == .refuse(reason: "hook answered 500"))
        #expect(HookVerdict.from(status: 302, body: Data()) == .refuse(reason: "hook answered 302"))
        // Fail closed on a 2xx the server cannot read.
        #expect(HookVerdict.from(status: 200, body: Data("{not json".utf8)) == .refuse(reason: "hook answered 200 with a body that is not a JSON object"))
        #expect(HookVerdict.from(status: 200, body: Data("[1]".utf8)) == .refuse(reason: "hook answered 200 with a body that is not a JSON object"))
        #expect(HookVerdict.from(status: 200, body: Data(#"{"stream":7}"#.utf8)) == .refuse(reason: #"hook answered 200 with a "stream" that is not a non-empty string"#))
        #expect(HookVerdict.from(status: 200, body: Data(#"{"stream":""}"#.utf8)) == .refuse(reason: #"hook answered 200 with a "stream" that is not a non-empty string"#))
    }

    @Test func longRefusalBodiesAreCut() {
        guard case .refuse(let reason) = HookVerdict.from(status: 403, body: Data(String(repeating: "x", count: 5000).utf8)) else {
            Issue.record("allowed")
            return
        }
        #expect(reason.count == "hook answered 403: ".count + 200)
    }
}

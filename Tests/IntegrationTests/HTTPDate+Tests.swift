import Foundation
import NIOHTTP1
import Testing
import Web

/// Every HTTP answer carries `Date` (RFC 9110 §6.6.1: an origin server with a clock must send it; caches in front
/// of HLS age answers by it) and `Server`, whichever part of the server gives it: the router (API, health, pages),
/// the HLS pipeline, HTTP-FLV. The value is formatted on demand, at most once a second (`HTTPDateHeader`), not by a
/// timer.
@Suite struct HTTPDateTests {
    /// An IMF-fixdate, read back with a parser of its own (POSIX locale, GMT), not the formatter under test.
    static func parse(_ text: String) -> Date? {
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = TimeZone(identifier: "GMT")
        parser.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return parser.date(from: text)
    }

    @Test func theValueIsAnIMFFixdateOfTheCurrentSecond() {
        let header = HTTPDateHeader()
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_000)) == "Tue, 14 Nov 2023 22:13:20 GMT")
        // Within the same second the text stays; the next second gets its own. Single-digit days are padded.
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_000.999)) == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_001)) == "Tue, 14 Nov 2023 22:13:21 GMT")
        #expect(header.value(at: Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(header.value(at: Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        // A clock that steps back gets the earlier second, not the cached one.
        #expect(header.value(at: Date(timeIntervalSince1970: 1_699_999_999.5)) == "Tue, 14 Nov 2023 22:13:19 GMT")
        let now = Date()
        let parsed = Self.parse(HTTPDateHeader.shared.value())
        #expect(parsed.map { abs($0.timeIntervalSince(now)) < 5 } == true)
    }

    @Test func everyPartOfTheServerAnswersWithDateAndServer() async throws {
        try await withServer { server in
            let requests: [(path: String, headers: [(String, String)])] = [
                ("/healthz", []),  // the router
                ("/api/v1/nothing-here", []),  // the router's JSON 404
                ("/hls/live/none/index.m3u8", []),  // the HLS pipeline
                ("/hls/live/none/index.m3u8", [("Connection", "close")]),  // the same, answered by the router
                ("/live/none.flv", []),  // HTTP-FLV's refusal
            ]
            for (path, headers) in requests {
                // Twice each, the second after a second has passed, so a value held over from the first would show.
                for round in 0..<2 {
                    if round == 1 { try await Task.sleep(for: .milliseconds(1100)) }
                    let before = Date()
                    let answer = try await server.fetch(path, headers: headers)
                    let after = Date()
                    #expect(answer.headers["Server"] == ["CueCast"], "\(path)")
                    let dates = answer.headers["Date"]
                    #expect(dates.count == 1, "\(path): \(dates)")
                    let date = dates.first.flatMap(Self.parse)
                    #expect(date != nil, "\(path): \(dates)")
                    if let date {
                        #expect(date >= before.addingTimeInterval(-1) && date <= after, "\(path): \(dates) not in \(before)…\(after)")
                    }
                }
            }
        }
    }
}

import Foundation
import Media
import NIOHTTP1
import Testing
import TestSupport
@testable import Web

/// Every HTTP answer carries `Date` (RFC 9110 §6.6.1: an origin server with a clock must send it; caches in front
/// of HLS age answers by it) and `Server`, whichever part of the server gives it: the router (API, health, pages),
/// the HLS pipeline, HTTP-FLV (a refusal and a live answer). The value is formatted on demand, at most once a second (`HTTPDateHeader`), not by a
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
        // Within the same second the text is the cached one; the next second gets its own.
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_000.999)) == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(header.formats == 1)
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_001)) == "Tue, 14 Nov 2023 22:13:21 GMT")
        #expect(header.formats == 2)
        // A clock that steps back gets the earlier second, not the later one cached.
        #expect(header.value(at: Date(timeIntervalSince1970: 1_700_000_000.5)) == "Tue, 14 Nov 2023 22:13:20 GMT")
        // Single-digit days padded; a leap day; the epoch, and just before it (the second is floored, not cut).
        #expect(header.value(at: Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(header.value(at: Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(header.value(at: Date(timeIntervalSince1970: -0.5)) == "Wed, 31 Dec 1969 23:59:59 GMT")
        let now = Date()
        let parsed = Self.parse(HTTPDateHeader.shared.value())
        #expect(parsed.map { abs($0.timeIntervalSince(now)) < 5 } == true)
    }

    @Test func everyPartOfTheServerAnswersWithDateAndServer() async throws {
        try await withServer { server in
            let path = StreamPath("live/dated")!
            let publish = try await server.publishLive(path, loops: 5)
            defer { publish.cancel() }
            try await server.eventually(timeout: 30, "a playlist with a segment") {
                let answer = try await server.fetch("/hls/live/dated/index.m3u8")
                return answer.status == 200 && String(decoding: answer.body, as: UTF8.self).contains("#EXTINF")
            }
            let requests: [(path: String, headers: [(String, String)])] = [
                ("/healthz", []),  // the router
                ("/api/v1/nothing-here", []),  // the router's JSON 404
                ("/hls/live/dated/index.m3u8", []),  // the HLS pipeline (a live stream's playlist, kept alive)
                ("/hls/live/dated/index.m3u8", [("Connection", "close")]),  // the same, answered by the router
                ("/hls/live/none/index.m3u8", []),  // no such stream: the router's 404
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
            // A live HTTP-FLV answer never ends: its head, read by curl, which gives up after 2 s.
            let before = Date()
            let flv = try await Tool("curl").run(
                ["-s", "-D", "-", "-o", "/dev/null", "--max-time", "2", "\(server.httpBase)/live/dated.flv"], timeout: 30, requireSuccess: false)
            let head = String(decoding: flv.stdout, as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            let dateLine = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("date: ") }
            let date = dateLine.flatMap { Self.parse(String($0.dropFirst(6))) }
            #expect(date.map { $0 >= before.addingTimeInterval(-1) && $0 <= Date() } == true, "\(head)")
            #expect(head.contains("Server: CueCast\r\n"), "\(head)")
        }
    }
}

import Testing

@testable import Push

/// Platform URLs as they are handed out, and the masked form every answer, log line and metric shows.
@Suite struct PushURLTests {
    @Test(arguments: [
        ("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop", "rtmp", "a.rtmp.youtube.com", 1935, "live2", "abcd-efgh-ijkl-mnop",
         "rtmp://a.rtmp.youtube.com/live2", "rtmp://a.rtmp.youtube.com/live2/ab…op"),
        ("rtmps://live-api-s.facebook.com:443/rtmp/FB-1234567890-0-AbCdEf", "rtmps", "live-api-s.facebook.com", 443, "rtmp",
         "FB-1234567890-0-AbCdEf", "rtmps://live-api-s.facebook.com:443/rtmp", "rtmps://live-api-s.facebook.com:443/rtmp/FB…Ef"),
        ("rtmp://push.example.cn/stage/stream-42?expire=1735689600&sign=0123456789abcdef", "rtmp", "push.example.cn", 1935,
         "stage", "stream-42?expire=1735689600&sign=0123456789abcdef", "rtmp://push.example.cn/stage",
         "rtmp://push.example.cn/stage/st…ef"),
        ("rtmp://127.0.0.1:19350/live/app2/KEY", "rtmp", "127.0.0.1", 19350, "live/app2", "KEY", "rtmp://127.0.0.1:19350/live/app2",
         "rtmp://127.0.0.1:19350/live/app2/…"),
        ("rtmps://host/app/k", "rtmps", "host", 443, "app", "k", "rtmps://host/app", "rtmps://host/app/…"),
    ] as [(String, String, String, Int, String, String, String, String)])
    func platformURLs(_ text: String, _ scheme: String, _ host: String, _ port: Int, _ app: String, _ key: String, _ tcURL: String, _ masked: String) throws {
        let url = try PushURL(text)
        #expect(url.scheme.rawValue == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.app == app)
        #expect(url.streamName == key)
        #expect(url.tcURL == tcURL)
        #expect(url.masked == masked)
        #expect("\(url)" == masked, "printing a URL masks it")
        #expect(!url.masked.contains(key) || key.count < 3)
    }

    @Test(arguments: [
        ("http://host/app/key", PushURL.ParseError.scheme), ("rtmp://host", .path), ("rtmp://host/key", .path), ("rtmp:///app/key", .host),
        ("rtmp://host:0/app/key", .host), ("rtmp://host:99999/app/key", .host), ("rtmp://user@host/app/key", .host), ("", .scheme),
    ] as [(String, PushURL.ParseError)])
    func malformedURLsSayWhatIsWrong(_ text: String, _ error: PushURL.ParseError) {
        #expect(throws: error) { try PushURL(text) }
    }
}

@Suite struct PushBackoffTests {
    @Test func doublesToThirtySecondsWithJitterAndResetsAfterAMinuteLive() {
        var backoff = PushBackoff()
        let middle = (0..<7).map { _ in backoff.delayAfterFailure(random: 0.5) }
        #expect(middle == [1, 2, 4, 8, 16, 30, 30])
        var jittered = PushBackoff()
        #expect(jittered.delayAfterFailure(random: 0) == 0.8)
        #expect(jittered.delayAfterFailure(random: 0.999_999) > 2.399)
        backoff.wasLive(for: 59)
        #expect(backoff.delayAfterFailure(random: 0.5) == 30, "under a minute live: still backing off")
        backoff.wasLive(for: 60)
        #expect(backoff.delayAfterFailure(random: 0.5) == 1)
    }
}

import Cues
import Foundation
import Media
import NIOCore
import Testing

@testable import HLS

@Suite struct SegmentWindowTests {
    func segment(_ n: Int, duration: Double = 2, discontinuity: Bool = false) -> Segment {
        Segment(
            sequence: n, uri: "e-\(n).ts", duration: duration, programDateTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(n) * 2),
            discontinuity: discontinuity, startPTS: Int64(n) * 180_000, parts: [], file: try! SegmentFile(name: "test-\(n).ts", bytes: ByteBuffer(bytes: [0x47])))
    }

    @Test func slidesAndKeepsRemovedSegmentsFetchableForTheirGraceTime() {
        var window = SegmentWindow(windowSize: 3, targetDuration: 2)
        let start = Date(timeIntervalSince1970: 0)
        for n in 0..<5 { window.append(segment(n), now: start) }
        #expect(window.segments.map(\.sequence) == [2, 3, 4])
        #expect(window.playlist.mediaSequence == 2)
        // Removed segments: fetchable for their duration (2) plus the playlist's (6 s).
        #expect(window.segment(uri: "e-0.ts") != nil)
        #expect(window.purge(now: start.addingTimeInterval(7.9)).isEmpty)
        #expect(window.segment(uri: "e-0.ts") != nil)
        #expect(window.purge(now: start.addingTimeInterval(8.1)).map(\.sequence) == [0, 1], "purged segments are handed back")
        #expect(window.segment(uri: "e-0.ts") == nil)
        #expect(window.segment(uri: "e-4.ts") != nil)
    }

    @Test func discontinuitySequenceCountsTagsThatSlidOut() {
        var window = SegmentWindow(windowSize: 2, targetDuration: 2)
        window.append(segment(0), now: Date())
        window.append(segment(1, discontinuity: true), now: Date())
        window.append(segment(2), now: Date())
        #expect(window.playlist.discontinuitySequence == 0)
        window.append(segment(3), now: Date())
        #expect(window.playlist.discontinuitySequence == 1)
        #expect(!window.playlist.render().contains("#EXT-X-DISCONTINUITY\n"))
    }

    /// RFC 8216 §6.2.1: the target duration never changes. The first segment (the encoder's keyframe interval)
    /// fixes it when it is longer than configured; later segments never move it (the cutter keeps them within).
    @Test func targetDurationIsFixedByTheFirstSegment() {
        var window = SegmentWindow(windowSize: 2, targetDuration: 2)
        #expect(window.targetDuration == 2)
        window.append(segment(0, duration: 2.4), now: Date())
        #expect(window.targetDuration == 2)
        window.append(segment(1, duration: 3.6), now: Date())
        #expect(window.targetDuration == 2, "never raised after the first segment")
        var long = SegmentWindow(windowSize: 2, targetDuration: 2)
        long.append(segment(0, duration: 4.0), now: Date())
        long.append(segment(1, duration: 1.0), now: Date())
        long.append(segment(2, duration: 4.2), now: Date())
        #expect(long.targetDuration == 4)
        #expect(long.playlist.render().contains("#EXT-X-TARGETDURATION:4\n"))
    }

    @Test func rendersEveryTag() {
        var window = SegmentWindow(windowSize: 6, targetDuration: 2)
        window.append(segment(7), now: Date())
        window.append(segment(8, duration: 1.5, discontinuity: true), now: Date())
        window.end()
        let text = window.playlist.render()
        #expect(text == """
            #EXTM3U
            #EXT-X-VERSION:6
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:7
            #EXT-X-DISCONTINUITY-SEQUENCE:0
            #EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:34.000Z
            #EXTINF:2.000,
            e-7.ts
            #EXT-X-DISCONTINUITY
            #EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:36.000Z
            #EXTINF:1.500,
            e-8.ts
            #EXT-X-ENDLIST

            """)
    }

    @Test func dateFormatKeepsMilliseconds() {
        #expect(MediaPlaylist.formatDate(Date(timeIntervalSince1970: 1.2345)) == "1970-01-01T00:00:01.235Z")
    }

    @Test func multivariantPlaylist() {
        let text = MultivariantPlaylist(bandwidth: 900_000, averageBandwidth: 800_000, codecs: ["avc1.64001f", "mp4a.40.2"], resolution: (1280, 720), frameRate: 30, mediaPlaylistURI: "index.m3u8").render()
        #expect(text.contains(#"#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000"#))
        #expect(text.hasSuffix("index.m3u8\n"))
    }
}

/// Which DATERANGEs a playlist lists: those of its segments, and pins, coupons and lotteries still on screen after
/// their segment slid out (the same rule as the state API, `CueScreen`).
@Suite struct ListedDateRangeTests {
    func segment(_ n: Int) -> Segment {
        Segment(
            sequence: n, uri: "e-\(n).ts", duration: 2, programDateTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(n) * 2),
            discontinuity: false, startPTS: Int64(n) * 180_000, parts: [], file: try! SegmentFile(name: "dr-\(n).ts", bytes: ByteBuffer(bytes: [0x47])))
    }

    @Test func slidOutCuesStayListedWhileOnScreen() throws {
        let stream = HLSStream(path: StreamPath("live/dr")!, epoch: "e", windowSize: 2, targetDuration: 2)
        let start = Date()
        func range(_ id: String, _ kind: CueKind, payload: String = "{}") -> DateRange {
            DateRange(id: id, kind: kind, startDate: start, duration: nil, playerJSON: #"{"id":"\#(id)","payload":\#(payload)}"#)
        }
        stream.addDateRange(range("pin", .productPin), segmentSequence: 0)
        stream.addDateRange(range("open-coupon", .coupon, payload: #"{"validUntil":"2999-01-01T00:00:00Z"}"#), segmentSequence: 0)
        stream.addDateRange(range("old-lottery", .lottery, payload: #"{"endsAt":"2001-01-01T00:00:00Z"}"#), segmentSequence: 0)
        stream.addDateRange(range("note", .announcement), segmentSequence: 0)
        stream.addDateRange(range("later", .announcement), segmentSequence: 3)
        for n in 0..<4 { stream.append(segment(n)) }
        let playlist = String(buffer: try #require(stream.mediaPlaylist))
        #expect(playlist.contains(#"ID="pin""#))
        #expect(playlist.contains(#"ID="open-coupon""#))
        #expect(!playlist.contains(#"ID="old-lottery""#), "its endsAt is past")
        #expect(!playlist.contains(#"ID="note""#), "announcements are moments: gone with their segment")
        #expect(playlist.contains(#"ID="later""#), "in a listed segment")
    }
}

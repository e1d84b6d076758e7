import Foundation
import NIOCore
import Testing

@testable import HLS

/// The Low-Latency HLS cores with values: directives, the rendition's bookkeeping and its playlist text
/// (draft-pantos-hls-rfc8216bis), and the cutter's parts.
@Suite struct LowLatencyTests {
    static func file(_ bytes: Int) -> SegmentFile {
        try! SegmentFile(name: "ll-test", bytes: ByteBuffer(repeating: 0xAB, count: bytes))
    }

    static func part(_ sequence: Int, _ index: Int, independent: Bool = false) -> PartialSegment {
        PartialSegment(
            sequence: sequence, index: index, uri: PartialSegment.uri(epoch: "e", sequence: sequence, index: index), duration: 0.2,
            independent: independent, file: file(100 * (index + 1)), byteRange: (100 * index)..<(100 * (index + 1)))
    }

    static func segment(_ sequence: Int, parts: Int) -> Segment {
        Segment(
            sequence: sequence, uri: "e-\(sequence).m4s", duration: 0.2 * Double(parts),
            programDateTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(sequence) * 2), discontinuity: false, startPTS: 0,
            parts: (0..<parts).map { .init(duration: 0.2, independent: $0 == 0, byteRange: (100 * $0)..<(100 * ($0 + 1))) },
            file: file(100 * parts), mapURI: "e-0.mp4")
    }

    /// Segment 0 whole (10 parts), segment 1 open with `openParts` parts.
    static func rendition(openParts: Int) -> LowLatencyRendition {
        var rendition = LowLatencyRendition(windowSize: 6, targetDuration: 2)
        rendition.addMap(uri: "e-0.mp4", file: file(50))
        for index in 0..<10 { rendition.append(part: part(0, index, independent: index == 0), programDateTime: Date(), discontinuity: false) }
        rendition.append(segment: segment(0, parts: 10), now: Date())
        rendition.fixPartTarget(0.201)
        for index in 0..<openParts { rendition.append(part: part(1, index, independent: index == 0), programDateTime: Date(), discontinuity: false) }
        return rendition
    }

    @Test func directivesAreParsedStrictly() throws {
        #expect(try DeliveryDirectives(query: []) == DeliveryDirectives())
        #expect(try DeliveryDirectives(query: [("_HLS_msn", "12"), ("_HLS_part", "3"), ("other", "x")]) == DeliveryDirectives(sequence: 12, part: 3))
        for bad: [(name: String, value: String)] in [
            [("_HLS_msn", "abc")], [("_HLS_msn", "-1")], [("_HLS_msn", "")], [("_HLS_msn", "1e3")], [("_HLS_msn", "99999999999999999999")],
            [("_HLS_part", "1")], [("_HLS_msn", "1"), ("_HLS_part", "x")],
        ] {
            #expect(throws: DeliveryDirectives.Failure.self, "\(bad)") { try DeliveryDirectives(query: bad) }
        }
    }

    @Test func requestsTooFarAheadAreRefused() {
        let last = (sequence: 10, part: Int?.some(4))
        // Advance part limit at 0.2 s parts: 15 parts.
        #expect(DeliveryDirectives.advancePartLimit(partTarget: 0.2) == 15)
        #expect(DeliveryDirectives.advancePartLimit(partTarget: 2) == 3)
        #expect(!DeliveryDirectives(sequence: 12).isTooFarAhead(last: last, partTarget: 0.2, partsPerSegment: 10))
        #expect(DeliveryDirectives(sequence: 13).isTooFarAhead(last: last, partTarget: 0.2, partsPerSegment: 10))
        #expect(!DeliveryDirectives(sequence: 11, part: 9).isTooFarAhead(last: last, partTarget: 0.2, partsPerSegment: 10), "15 parts ahead")
        #expect(DeliveryDirectives(sequence: 12, part: 0).isTooFarAhead(last: last, partTarget: 0.2, partsPerSegment: 10), "16 parts ahead")
        #expect(!DeliveryDirectives(sequence: 3, part: 2).isTooFarAhead(last: last, partTarget: 0.2, partsPerSegment: 10), "the past is never too far")
    }

    @Test func positionsAreFoundAsTheDraftCountsThem() {
        let rendition = Self.rendition(openParts: 3)
        #expect(rendition.contains(sequence: 0, part: nil))
        #expect(rendition.contains(sequence: 0, part: 9))
        #expect(rendition.contains(sequence: 0, part: 10), "a part past a whole segment's end is the next one's part 0")
        #expect(rendition.contains(sequence: 1, part: 2))
        #expect(!rendition.contains(sequence: 1, part: 3))
        #expect(!rendition.contains(sequence: 1, part: nil), "segment 1 is not whole yet")
        #expect(!rendition.contains(sequence: 2, part: 0))
        #expect(rendition.lastPosition! == (1, 2))
        #expect(rendition.nextPart(epoch: "e")! == (1, 3))
        let empty = Self.rendition(openParts: 0)
        #expect(!empty.contains(sequence: 0, part: 10), "segment 1 has no part yet")
        #expect(empty.nextPart(epoch: "e")! == (1, 0))
        #expect(empty.lastPosition!.sequence == 0 && empty.lastPosition!.part == nil)
    }

    @Test func filesAreFoundByURIWhileOpenAndOnceWhole() {
        let rendition = Self.rendition(openParts: 2)
        #expect(rendition.file(uri: "e-0.mp4")?.range == 0..<50)
        #expect(rendition.file(uri: "e-1.1.m4s")?.range == 100..<200, "a part of the open segment")
        #expect(rendition.file(uri: "e-0.4.m4s")?.range == 400..<500, "a part of a whole segment, from the segment's file")
        #expect(rendition.file(uri: "e-0.m4s")?.range == 0..<1000)
        #expect(rendition.file(uri: "e-0.10.m4s") == nil)
        #expect(rendition.file(uri: "e-1.2.m4s") == nil)
        #expect(rendition.file(uri: "e-7.m4s") == nil)
        #expect(PartialSegment.position(uri: "mx3-12.4.m4s")! == (12, 4))
        #expect(PartialSegment.position(uri: "mx3-12.m4s") == nil)
        #expect(PartialSegment.position(uri: "mx3-12.-4.m4s") == nil)
    }

    @Test func playlistListsPartsHintAndServerControl() throws {
        let text = try #require(Self.rendition(openParts: 2).playlist(epoch: "e", ended: false)).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.603,HOLD-BACK=6,CAN-SKIP-UNTIL=12,CAN-SKIP-DATERANGES=YES"))
        #expect(lines.contains("#EXT-X-PART-INF:PART-TARGET=0.201"))
        #expect(lines.contains(#"#EXT-X-MAP:URI="e-0.mp4""#))
        #expect(lines.filter { $0 == #"#EXT-X-MAP:URI="e-0.mp4""# }.count == 1, "the map is written where it changes")
        #expect(lines.contains(#"#EXT-X-PART:DURATION=0.2,URI="e-0.0.m4s",INDEPENDENT=YES"#))
        #expect(lines.contains(#"#EXT-X-PART:DURATION=0.2,URI="e-0.9.m4s""#))
        // The whole segment's parts come before its URI; the open segment's parts after it, then the hint.
        let segmentLine = try #require(lines.firstIndex(of: "e-0.m4s"))
        #expect(lines.firstIndex(of: #"#EXT-X-PART:DURATION=0.2,URI="e-0.9.m4s""#)! < segmentLine)
        #expect(lines.firstIndex(of: #"#EXT-X-PART:DURATION=0.2,URI="e-1.1.m4s""#)! > segmentLine)
        #expect(lines.last == #"#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-1.2.m4s""#)
        #expect(lines.filter { $0.hasPrefix("#EXT-X-PROGRAM-DATE-TIME") }.count == 1, "the open segment takes its date from the last one")
        let ended = try #require(Self.rendition(openParts: 0).playlist(epoch: "e", ended: true)).render()
        #expect(ended.hasSuffix("#EXT-X-ENDLIST\n") && !ended.contains("PRELOAD-HINT"))
        #expect(LowLatencyRendition(windowSize: 3, targetDuration: 2).playlist(epoch: "e", ended: false) == nil, "nothing before a whole segment")
    }

    @Test func partsAreListedForTheLastThreeTargetDurationsOnly() throws {
        var rendition = LowLatencyRendition(windowSize: 6, targetDuration: 2)
        rendition.addMap(uri: "e-0.mp4", file: Self.file(50))
        rendition.fixPartTarget(0.201)
        for sequence in 0..<6 { rendition.append(segment: Self.segment(sequence, parts: 10), now: Date()) }
        let text = try #require(rendition.playlist(epoch: "e", ended: false)).render()
        for sequence in 0..<3 { #expect(!text.contains("e-\(sequence).0.m4s"), "segment \(sequence) is 6 s or more from the edge") }
        for sequence in 3..<6 { #expect(text.contains("e-\(sequence).0.m4s"), "segment \(sequence)") }
    }

    @Test func secondsKeepFiveDecimalsAtMost() {
        #expect(MediaPlaylist.seconds(0.2) == "0.2")
        #expect(MediaPlaylist.seconds(0.200222) == "0.20022")
        #expect(MediaPlaylist.seconds(6) == "6")
        #expect(MediaPlaylist.seconds(0.603) == "0.603")
    }

    /// Parts end in decode order once the target is reached, and before a frame that would take one past the
    /// limit; B-frames (PTS out of order) do not move them.
    @Test func partsAreCutByDecodeTimeWithinTheLimit() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 18_000, hasVideo: true)
        var cuts: [Int64] = []
        // 30 fps with B-frames: PTS runs ahead of DTS by 2 frames and out of order.
        let ptsOffsets: [Int64] = [6000, 12000, 3000, 0]
        for frame in Int64(0)..<60 {
            let dts = frame * 3000
            let pts = dts + ptsOffsets[Int(frame % 4)]
            if cutter.decide(isVideo: true, isKeyframe: frame == 0, pts: pts, dts: dts, frameDuration: 3000) == .part { cuts.append(dts) }
        }
        #expect(cuts == stride(from: Int64(18_000), to: 180_000, by: 18_000).map { $0 }, "every 6 frames: \(cuts)")
        var limited = SegmentCutter(targetDuration: 180_000, partTarget: 18_000, hasVideo: true)
        limited.partLimit = 16_000
        var limitedCuts: [Int64] = []
        for frame in Int64(0)..<20 where limited.decide(isVideo: true, isKeyframe: frame == 0, pts: frame * 3000, dts: frame * 3000, frameDuration: 3000) == .part {
            limitedCuts.append(frame * 3000)
        }
        #expect(limitedCuts == [15_000, 30_000, 45_000], "five frames fit in 16 000 ticks, six do not: \(limitedCuts)")
    }

    /// With a steady cadence a part ends with the frame that completes it (at that frame's expected end), and the
    /// next frame does not end it again; parts stay within the limit.
    @Test func aPartEndsWithItsLastFrameWhenTheNextOneIsForecast() {
        var cutter = SegmentCutter(targetDuration: 180_000, partTarget: 18_000, hasVideo: true)
        var early: [Int64] = []
        for frame in Int64(0)..<60 {
            let dts = frame * 3000
            let decision = cutter.decide(isVideo: true, isKeyframe: frame == 0, pts: dts, dts: dts, frameDuration: 3000)
            #expect(decision == .none, "frame \(frame)")
            if cutter.endsPartAfter(dts: dts, expectedDuration: 3000) { early.append(dts + 3000) }
        }
        #expect(early == stride(from: Int64(18_000), through: 180_000, by: 18_000).map { $0 }, "after every sixth frame: \(early)")
        // A forecast that would take the part past its limit does not end it early; the next frame cuts as before.
        var limited = SegmentCutter(targetDuration: 180_000, partTarget: 18_000, hasVideo: true)
        limited.partLimit = 16_000
        _ = limited.decide(isVideo: true, isKeyframe: true, pts: 0, dts: 0, frameDuration: 3000)
        for frame in Int64(0)..<5 {
            let ends = limited.endsPartAfter(dts: frame * 3000, expectedDuration: 3000)
            #expect(!ends, "frame \(frame)")
        }
        // A frame that comes late after an early end falls in the next part, not a part of its own.
        var late = SegmentCutter(targetDuration: 180_000, partTarget: 18_000, hasVideo: true)
        for frame in Int64(0)..<6 {
            _ = late.decide(isVideo: true, isKeyframe: frame == 0, pts: frame * 3000, dts: frame * 3000, frameDuration: 3000)
        }
        let endsAtSixth = late.endsPartAfter(dts: 15_000, expectedDuration: 3000)
        let lateFrame = late.decide(isVideo: true, isKeyframe: false, pts: 21_000, dts: 21_000, frameDuration: 3000)
        let endsAgain = late.endsPartAfter(dts: 21_000, expectedDuration: 3000)
        #expect(endsAtSixth && lateFrame == .none && !endsAgain)
    }

    @Test func deltaUpdatesSkipSegmentsOlderThanTheBoundary() throws {
        #expect(try DeliveryDirectives(query: [("_HLS_skip", "YES")]).skip == .segments)
        #expect(try DeliveryDirectives(query: [("_HLS_skip", "v2")]).skip == .segmentsAndDateRanges)
        #expect(throws: DeliveryDirectives.Failure.self) { try DeliveryDirectives(query: [("_HLS_skip", "yes please")]) }
        var rendition = LowLatencyRendition(windowSize: 12, targetDuration: 2)
        rendition.addMap(uri: "e-0.mp4", file: Self.file(50))
        rendition.fixPartTarget(0.201)
        for sequence in 0..<12 { rendition.append(segment: Self.segment(sequence, parts: 10), now: Date()) }
        // 24 s listed, boundary 12 s: the 6 oldest segments can be skipped.
        #expect(rendition.skipBoundary == 12)
        #expect(rendition.skippableSegments == 6)
        let full = try #require(rendition.playlist(epoch: "e", ended: false)).render()
        #expect(full.contains("CAN-SKIP-UNTIL=12,CAN-SKIP-DATERANGES=YES") && full.contains("#EXT-X-VERSION:6") && !full.contains("EXT-X-SKIP"))
        let delta = try #require(rendition.playlist(epoch: "e", ended: false, skip: true)).render()
        let lines = delta.split(separator: "\n").map(String.init)
        #expect(lines.contains("#EXT-X-VERSION:9"))
        #expect(lines.contains("#EXT-X-MEDIA-SEQUENCE:0"), "the media sequence still names the first (skipped) segment")
        let skip = try #require(lines.firstIndex(of: "#EXT-X-SKIP:SKIPPED-SEGMENTS=6"))
        #expect(!delta.contains("e-5.m4s") && delta.contains("e-6.m4s"))
        #expect(lines.firstIndex(of: #"#EXT-X-MAP:URI="e-0.mp4""#)! > skip, "the first segment kept carries its map")
        var short = LowLatencyRendition(windowSize: 6, targetDuration: 2)
        short.addMap(uri: "e-0.mp4", file: Self.file(50))
        short.fixPartTarget(0.201)
        for sequence in 0..<6 { short.append(segment: Self.segment(sequence, parts: 10), now: Date()) }
        #expect(short.skippableSegments == 0, "a 12 s playlist is all inside the boundary")
        var v2 = try #require(rendition.playlist(epoch: "e", ended: false, skip: true))
        v2.lowLatency?.recentlyRemovedDateRanges = ["cue-1", "cue-2"]
        #expect(v2.render().contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES=\"cue-1\tcue-2\""))
        #expect(v2.render().contains("#EXT-X-VERSION:10"), "skipping date ranges needs version 10")
    }

    /// A rendition that stopped and came back does not leave a gap in its list (a playlist numbers segments by
    /// position), and an abandoned open segment is no longer listed.
    @Test func aGapStartsTheListAgainAndAnAbandonedSegmentGoes() throws {
        var rendition = Self.rendition(openParts: 3)
        rendition.abandonOpen()
        #expect(rendition.nextPart(epoch: "e")! == (1, 0))
        let text = try #require(rendition.playlist(epoch: "e", ended: false)).render()
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("#EXT-X-PART:") && $0.contains("e-1.") }, "no part of segment 1 listed")
        var resumed = Self.segment(4, parts: 10)
        resumed.discontinuity = true
        rendition.append(segment: resumed, now: Date())
        let playlist = try #require(rendition.playlist(epoch: "e", ended: false))
        #expect(playlist.mediaSequence == 4 && playlist.entries.map(\.uri) == ["e-4.m4s"])
        #expect(rendition.file(uri: "e-0.m4s") != nil, "the segment taken out stays fetchable for its grace time")
    }
}

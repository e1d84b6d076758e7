import Cues
import Media
import NIOCore
import NIOEmbedded
import NIOConcurrencyHelpers
import Testing

@testable import StreamHub

/// Keeps what it is given, on the publisher's loop.
final class Collector: StreamReader {
    let events = NIOLockedValueBox<[StreamEvent]>([])
    func receive(_ event: StreamEvent) { events.withLockedValue { $0.append(event) } }
    var taken: [StreamEvent] { events.withLockedValue { $0 } }
}

@Suite struct LiveStreamTests {
    /// A reader that joins mid-publish gets metadata, both sequence headers and the current GOP from its keyframe
    /// at once, then live events; nothing of the GOP before.
    @Test func aLateReaderStartsWithHeadersAndTheCurrentGOP() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let stream = hub.claim(StreamPath("live/late")!, remoteAddress: "test", on: loop)!
        loop.run()
        stream.deliver(metadata: ByteBuffer(bytes: [2, 0, 1, 0x61]))
        stream.deliver(header(.video))
        stream.deliver(header(.audio))
        for f in [
            frame(.video, dts: 0, keyframe: true), frame(.audio, dts: 10), frame(.video, dts: 40),
            frame(.video, dts: 80, keyframe: true), frame(.audio, dts: 90), frame(.video, dts: 120),
        ] { stream.deliver(f) }
        let late = Collector()
        stream.attach(late)
        loop.run()
        stream.deliver(frame(.video, dts: 160))
        #expect(
            describe(late.taken) == ["metadata", "video-header", "audio-header", "videoK@80", "audio@90", "video@120", "video@160"])
        #expect(late.taken.allSatisfy { $0.publish == stream.publish })
        if case .packet(let h) = late.taken[1].kind { #expect(h.dts == 80, "headers carry the first frame's time") }
    }

    /// With no GOP to start from (the cache off, or a GOP that outgrew it), a joining reader gets metadata and
    /// headers at once, then nothing (no frame, no cue) until the next video keyframe; the others miss nothing.
    @Test(arguments: ["off", "outgrown"])
    func aReaderWithoutAGOPStartsAtTheNextKeyframe(_ why: String) {
        let loop = EmbeddedEventLoop()
        var limits = GOPCache.Limits()
        if why == "off" { limits.isEnabled = false } else { limits.maxPackets = 2 }
        let hub = StreamHub(gopCache: limits)
        let stream = hub.claim(StreamPath("live/nogop")!, remoteAddress: "test", on: loop)!
        let early = Collector()
        stream.attach(early)
        loop.run()
        stream.deliver(header(.video))
        stream.deliver(header(.audio))
        for f in [frame(.video, dts: 0, keyframe: true), frame(.audio, dts: 10), frame(.video, dts: 40), frame(.video, dts: 80)] {
            stream.deliver(f)
        }
        let late = Collector()
        stream.attach(late)
        loop.run()
        stream.deliver(frame(.audio, dts: 90))
        stream.deliver(frame(.video, dts: 120))
        stream.mark(PendingCue(id: "pin", kind: .productPin, payload: "{}", duration: nil, target: .nextFrame) { _ in })
        loop.run()
        stream.deliver(frame(.video, dts: 160, keyframe: true))
        stream.deliver(frame(.audio, dts: 170))
        #expect(describe(late.taken) == ["video-header", "audio-header", "cuePlaced", "videoK@160", "audio@170"])
        #expect(describe(early.taken).suffix(5) == ["audio@90", "video@120", "cuePlaced", "videoK@160", "audio@170"])
        let third = Collector()
        stream.attach(third)
        loop.run()
        stream.detach(late)
        loop.run()
        stream.deliver(frame(.video, dts: 200))
        if why == "off" {
            #expect(describe(third.taken) == ["video-header", "audio-header"], "no GOP kept: waits for the next keyframe")
        } else {
            #expect(describe(third.taken) == ["video-header", "audio-header", "videoK@160", "audio@170", "video@200"])
        }
    }

    /// Followers of a path get every publish of it, each stamped with its own id; a waiter for the next publish
    /// is called once, with the new one.
    @Test func followersSeeEachPublishStampedWithItsID() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let path = StreamPath("live/again")!
        let follower = Collector()
        hub.follow(path, with: follower)
        let first = hub.claim(path, remoteAddress: "a", on: loop)!
        #expect(hub.claim(path, remoteAddress: "b", on: loop) == nil, "one publisher per path")
        loop.run()
        first.deliver(frame(.audio, dts: 1))
        let next = NIOLockedValueBox<[PublishID]>([])
        hub.nextPublish(of: path, after: first.publish) { stream in next.withLockedValue { $0.append(stream.publish) } }
        hub.release(first, reason: "gone")
        loop.run()
        let second = hub.claim(path, remoteAddress: "b", on: loop)!
        loop.run()
        second.deliver(frame(.audio, dts: 2))
        #expect(describe(follower.taken) == ["started", "clock", "audio@1", "ended", "started", "clock", "audio@2"])
        #expect(follower.taken.map(\.publish) == [first.publish, first.publish, first.publish, first.publish, second.publish, second.publish, second.publish])
        #expect(next.withLockedValue { $0 } == [second.publish])
    }

    /// A follower leaves a path only while no publish of it is live; the publishes after that do not see it.
    @Test func aFollowerLeavesAnIdlePathOnly() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let path = StreamPath("live/retire")!
        let follower = Collector()
        hub.follow(path, with: follower)
        let live = hub.claim(path, remoteAddress: "a", on: loop)!
        loop.run()
        var retired = 0
        #expect(!hub.unfollow(path, reader: follower) { retired += 1 }, "a live path keeps its followers")
        #expect(retired == 0 && hub.followerCount(of: path) == 1)
        hub.release(live, reason: "gone")
        loop.run()
        #expect(hub.unfollow(path, reader: follower) { retired += 1 })
        #expect(retired == 1 && hub.followerCount(of: path) == 0)
        #expect(!hub.unfollow(path, reader: follower) { retired += 1 }, "not a follower any more")
        let next = hub.claim(path, remoteAddress: "b", on: loop)!
        loop.run()
        #expect(follower.taken.allSatisfy { $0.publish == live.publish }, "the next publish has no follower")
        hub.release(next, reason: "gone")
        loop.run()
    }

    /// A detached reader gets nothing more, and nothing reaches readers after the end.
    @Test func detachedAndEndedStreamsDeliverNothing() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let stream = hub.claim(StreamPath("live/gone")!, remoteAddress: "test", on: loop)!
        let reader = Collector()
        stream.attach(reader)
        loop.run()
        stream.deliver(frame(.audio, dts: 1))
        stream.detach(reader)
        loop.run()
        stream.deliver(frame(.audio, dts: 2))
        #expect(describe(reader.taken) == ["clock", "audio@1"])
        let late = Collector()
        hub.release(stream, reason: "gone")
        loop.run()
        let joined = NIOLockedValueBox<Bool?>(nil)
        stream.attach(late) { ok in joined.withLockedValue { $0 = ok } }
        loop.run()
        #expect(joined.withLockedValue { $0 } == false)
        #expect(late.taken.isEmpty)
    }

    /// The viewer limits count per stream and in total, and give back what they took.
    @Test func viewerLimits() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let a = hub.claim(StreamPath("live/a")!, remoteAddress: "test", on: loop)!
        let b = hub.claim(StreamPath("live/b")!, remoteAddress: "test", on: loop)!
        var limits = ViewerLimits()
        limits.perStream = 2
        limits.total = 3
        #expect(hub.admitViewer(to: a, limits: limits) == nil)
        #expect(hub.admitViewer(to: a, limits: limits) == nil)
        #expect(hub.admitViewer(to: a, limits: limits)?.contains("viewer limit of live/a (2)") == true)
        #expect(hub.admitViewer(to: b, limits: limits) == nil)
        #expect(hub.admitViewer(to: b, limits: limits)?.contains("server viewer limit (3)") == true)
        hub.releaseViewer(of: a)
        #expect(hub.admitViewer(to: b, limits: limits) == nil)
        #expect(a.viewers.load(ordering: .relaxed) == 1 && b.viewers.load(ordering: .relaxed) == 2)
    }
}

@Suite struct GOPCacheTests {
    /// A frame whose bytes say which frame it is (`seed` repeated), to check slices against what went in.
    func marked(_ track: Track, dts: Int64, keyframe: Bool = false, bytes: Int, seed: UInt8) -> MediaPacket {
        var packet = frame(track, dts: dts, keyframe: keyframe, bytes: 0)
        packet.payload = ByteBuffer(repeating: seed, count: bytes)
        return packet
    }

    /// A 2 s GOP of a 2.5 Mbit/s stream (a 60 KB keyframe, 59 frames of 7–12 KB, audio between) costs the GOP's
    /// bytes and a little room, not a power of two per frame; every payload reads back as it went in.
    @Test func keepsAGOPInLittleMoreThanItsBytes() {
        var cache = GOPCache()
        var sent: [MediaPacket] = [marked(.video, dts: 0, keyframe: true, bytes: 60_000, seed: 0)]
        for n in 1..<60 {
            sent.append(marked(.audio, dts: Int64(n * 33 - 10), bytes: 380, seed: UInt8(n % 251)))
            sent.append(marked(.video, dts: Int64(n * 33), bytes: 7_000 + (n * 977) % 5_000, seed: UInt8((n + 100) % 251)))
        }
        for packet in sent { cache.add(packet, hasVideo: true) }
        let kept = cache.packets
        #expect(kept.map(\.dts) == sent.map(\.dts))
        #expect(zip(kept, sent).allSatisfy { $0.payload == $1.payload })
        let bytes = sent.reduce(0) { $0 + $1.payload.readableBytes }
        #expect(cache.keptBytes == bytes)
        // A buffer per frame took 1.3–1.5 times the bytes here (16 KB for a 9 KB frame, 512 B for 380 B of audio).
        #expect(cache.allocatedBytes <= bytes + bytes / 10 + GOPCache.blockSize, "\(cache.allocatedBytes) B for \(bytes) B")
    }

    /// Slices handed to a joining reader keep their bytes while the cache goes on writing into the same block.
    @Test func slicesHandedOutKeepTheirBytes() {
        var cache = GOPCache()
        cache.add(marked(.video, dts: 0, keyframe: true, bytes: 1_000, seed: 7), hasVideo: true)
        cache.add(marked(.video, dts: 33, bytes: 1_000, seed: 8), hasVideo: true)
        let early = cache.packets
        for n in 2..<40 { cache.add(marked(.video, dts: Int64(n * 33), bytes: 3_000, seed: UInt8(n)), hasVideo: true) }
        #expect(early.map { $0.payload } == [ByteBuffer(repeating: 7, count: 1_000), ByteBuffer(repeating: 8, count: 1_000)])
        let all = cache.packets
        #expect(all.count == 40)
        #expect(all.enumerated().dropFirst(2).allSatisfy { $0.element.payload == ByteBuffer(repeating: UInt8($0.offset), count: 3_000) })
        cache.add(marked(.video, dts: 2_000, keyframe: true, bytes: 500, seed: 9), hasVideo: true)
        #expect(all[39].payload == ByteBuffer(repeating: 39, count: 3_000), "a new GOP leaves handed-out slices alone")
        #expect(cache.packets.map(\.dts) == [2_000])
    }

    /// The next GOP is written into the last one's blocks, not into fresh memory, and reads back as it went in.
    @Test func reusesTheLastGOPsBlocks() {
        var cache = GOPCache()
        var blocksAfterFirstGOP = 0
        var firstGOP: Set<UInt> = []
        for gop in 0..<3 {
            let start = Int64(gop * 2_000)
            cache.add(marked(.video, dts: start, keyframe: true, bytes: 20_000, seed: UInt8(gop)), hasVideo: true)
            for n in 1..<60 { cache.add(marked(.video, dts: start + Int64(n * 33), bytes: 9_000, seed: UInt8(n)), hasVideo: true) }
            let kept = cache.packets
            #expect(kept.count == 60)
            #expect(kept.first?.payload == ByteBuffer(repeating: UInt8(gop), count: 20_000))
            #expect(kept.dropFirst().enumerated().allSatisfy { $0.element.payload == ByteBuffer(repeating: UInt8($0.offset + 1), count: 9_000) })
            // Alike frame for frame, so a GOP written into the last one's blocks puts each frame where it was.
            let addresses = Set(kept.map { $0.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } })
            #expect(addresses.count == 60)
            if gop == 0 {
                blocksAfterFirstGOP = cache.blocksAllocated
                firstGOP = addresses
            } else {
                #expect(addresses == firstGOP, "GOP \(gop) written where GOP 0 was")
            }
            #expect(cache.allocatedBytes <= 10 * GOPCache.blockSize, "\(cache.allocatedBytes) B")
        }
        #expect(blocksAfterFirstGOP == 9, "551 000 B in 64 KB blocks")
        #expect(cache.blocksAllocated == blocksAfterFirstGOP, "GOPs 1 and 2 filled GOP 0's blocks")
    }

    /// An audio-only stream keeps its last 50 frames, and lets go of the blocks behind them.
    @Test func audioOnlyKeepsItsLastFramesInBoundedMemory() {
        var cache = GOPCache()
        for n in 0..<2_000 { cache.add(marked(.audio, dts: Int64(n * 21), bytes: 3_000, seed: UInt8(n % 251)), hasVideo: false) }
        let kept = cache.packets
        #expect(kept.map(\.dts) == (1_950..<2_000).map { Int64($0 * 21) })
        #expect(kept.last?.payload == ByteBuffer(repeating: UInt8(1_999 % 251), count: 3_000))
        #expect(cache.allocatedBytes <= 50 * 3_000 + 2 * GOPCache.blockSize)
    }

    @Test func keepsNothingWhenOff() {
        var limits = GOPCache.Limits()
        limits.isEnabled = false
        var cache = GOPCache(limits: limits)
        for f in [frame(.video, dts: 0, keyframe: true), frame(.audio, dts: 10), frame(.video, dts: 40)] { cache.add(f, hasVideo: true) }
        #expect(cache.packets.isEmpty && cache.allocatedBytes == 0)
    }

    @Test func keepsFromTheLastKeyframeAndGivesUpPastItsLimits() {
        var limits = GOPCache.Limits()
        limits.maxPackets = 3
        var cache = GOPCache(limits: limits)
        cache.add(frame(.video, dts: 0), hasVideo: true)
        #expect(cache.packets.isEmpty, "nothing before the first keyframe")
        for f in [frame(.video, dts: 40, keyframe: true), frame(.audio, dts: 41), frame(.video, dts: 80)] { cache.add(f, hasVideo: true) }
        #expect(cache.packets.map(\.dts) == [40, 41, 80])
        cache.add(frame(.video, dts: 120), hasVideo: true)
        #expect(cache.packets.isEmpty, "a GOP past the limit is not kept")
        cache.add(frame(.video, dts: 160), hasVideo: true)
        #expect(cache.packets.isEmpty)
        cache.add(frame(.video, dts: 200, keyframe: true), hasVideo: true)
        #expect(cache.packets.map(\.dts) == [200])
    }
}

@Suite struct CuePlacementTests {
    /// A cue placed from another thread is bound by the next frame, and every reader gets it right before that
    /// frame, with the frame's time and the same JSON the binder reported.
    @Test func placementsGoOutRightBeforeTheirFrame() throws {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let stream = hub.claim(StreamPath("live/cue")!, remoteAddress: "test", on: loop)!
        let reader = Collector()
        stream.attach(reader)
        loop.run()
        stream.deliver(header(.video))
        stream.deliver(frame(.video, dts: 0, keyframe: true))
        let answer = NIOLockedValueBox<BoundCue??>(nil)
        stream.mark(PendingCue(id: "pin", kind: .productPin, payload: "{}", duration: nil, target: .nextFrame) { bound in
            answer.withLockedValue { $0 = .some(bound) }
        })
        loop.run()
        stream.deliver(frame(.audio, dts: 20))
        stream.deliver(frame(.video, dts: 40))
        #expect(describe(reader.taken) == ["video-header", "clock", "videoK@0", "audio@20", "cuePlaced", "video@40"])
        let bound = try #require(answer.withLockedValue { $0 } ?? nil)
        #expect(bound.mediaTime == 40)
        #expect(bound.pts == 40 * 90 + 900_000)
        guard case .cuePlaced(let placed) = reader.taken[4].kind else { return }
        #expect(placed.timestamp == 40 && placed.json == bound.playerJSON && placed.json.contains(#""pts":903600"#))
    }

    @Test func cuesWaitingWhenThePublishEndsAreAnsweredWithNil() {
        let loop = EmbeddedEventLoop()
        let hub = StreamHub()
        let stream = hub.claim(StreamPath("live/cue-end")!, remoteAddress: "test", on: loop)!
        let answered = NIOLockedValueBox(0)
        stream.mark(PendingCue(id: "late", kind: .announcement, payload: "{}", duration: nil, target: .mediaTime(10_000)) { bound in
            if bound == nil { answered.withLockedValue { $0 += 1 } }
        })
        loop.run()
        hub.release(stream, reason: "gone")
        loop.run()
        stream.mark(PendingCue(id: "after", kind: .announcement, payload: "{}", duration: nil, target: .nextFrame) { bound in
            if bound == nil { answered.withLockedValue { $0 += 1 } }
        })
        loop.run()
        #expect(answered.withLockedValue { $0 } == 2)
    }
}

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

import Logging
import Media
import NIOCore
import Store
import StreamHub
import Testing
import TestSupport

@testable import HLS
@testable import Remux

@Suite struct HLSPipelineTests {
    /// While a new playlist's sequence numbers are being reserved, events wait in order, but only so many packets:
    /// a stalled database must not let one publisher queue without bound.
    @Test func packetsWaitingForSequenceNumbersAreBounded() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = HLSStore()
        let path = StreamPath("live/wait")!
        let pipeline = HLSPipeline(path: path, configuration: HLSConfiguration(), store: store, mirror: nil, logger: Logger(label: "test"))
        let publish = PublishID(rawValue: 1)
        #expect(pipeline.receive(StreamEvent(publish: publish, kind: .started(remoteAddress: "test"))), "a new playlist asks for sequence numbers")
        let extra = 10
        for n in 0..<(HLSPipeline.waitingLimit + extra) {
            let packet = MediaPacket(
                track: .audio, codec: .aac, kind: .frame, dts: Int64(n), pts: Int64(n), isKeyframe: true, payload: ByteBuffer())
            #expect(!pipeline.receive(StreamEvent(publish: publish, kind: .packet(packet))))
        }
        #expect(!pipeline.receive(StreamEvent(publish: publish, kind: .ended(reason: "gone"))), "the end of the publish still waits its turn")
        #expect(pipeline.droppedBeforeKeyframe == extra)
        #expect(!pipeline.begin(firstSequence: 7))
        #expect(store.stream(path) != nil, "the playlist starts once numbers arrive")
    }
}

/// The two races of playlist state, each driven in its bad order with no sleeps.
@Suite struct PlaylistRaceTests {
    let path = StreamPath("live/race")!

    /// A pipeline whose first publish (1) has started and got its sequence numbers: its playlist is live.
    func livePipeline() -> (HLSStore, HLSPipeline) {
        let store = HLSStore()
        let pipeline = HLSPipeline(path: path, configuration: HLSConfiguration(), store: store, mirror: nil, logger: Logger(label: "test"))
        #expect(pipeline.receive(event(1, .started(remoteAddress: "a"))), "a new playlist asks for sequence numbers")
        #expect(!pipeline.begin(firstSequence: 0))
        return (store, pipeline)
    }

    func event(_ publish: Int, _ kind: StreamEvent.Kind) -> StreamEvent {
        StreamEvent(publish: PublishID(rawValue: publish), kind: kind)
    }

    /// A new publisher claims the path between the old one's release and the delivery of its end (the two run on
    /// different event loops): the late end of the old publish must not put the new one's playlist into grace.
    @Test func aLateEndOfThePreviousPublishDoesNotEndTheNewOne() throws {
        let (store, pipeline) = livePipeline()
        #expect(!pipeline.receive(event(2, .started(remoteAddress: "b"))), "the new publish continues the playlist")
        #expect(!pipeline.receive(event(1, .ended(reason: "old publisher gone"))))
        #expect(store.stream(path)?.state == .live)
        #expect(pipeline.following == PublishID(rawValue: 2))
        #expect(!pipeline.receive(event(2, .ended(reason: "new publisher gone"))))
        #expect(store.stream(path)?.state == .grace, "its own end still counts")
    }

    /// Housekeeping sees a playlist in grace and decides to end it; before it does, the publisher comes back and
    /// the playlist goes live again. The end must not land on the live playlist.
    @Test func graceExpiringAsThePublisherReturnsLeavesThePlaylistLive() throws {
        let (store, pipeline) = livePipeline()
        #expect(!pipeline.receive(event(1, .ended(reason: "gone"))))
        let output = try #require(store.stream(path))
        let seen = output.stateSince
        #expect(seen.state == .grace)
        #expect(!pipeline.receive(event(2, .started(remoteAddress: "a"))), "republished within grace")
        #expect(!HLSService.endGrace(of: output, seen: seen.since), "housekeeping lost the race")
        #expect(output.state == .live)
        #expect(!(output.mediaPlaylist.map { String(buffer: $0) } ?? "").contains("#EXT-X-ENDLIST"))
        // With no republish, the same call ends the playlist.
        #expect(!pipeline.receive(event(2, .ended(reason: "gone"))))
        let grace = output.stateSince
        #expect(HLSService.endGrace(of: output, seen: grace.since))
        #expect(output.state == .ended)
    }
}

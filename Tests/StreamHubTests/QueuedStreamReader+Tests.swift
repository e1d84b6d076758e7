import Media
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import StreamHub

func frame(_ track: Track, dts: Int64, keyframe: Bool = false, bytes: Int = 10) -> MediaPacket {
    MediaPacket(
        track: track, codec: track == .video ? .h264 : .aac, kind: .frame, dts: dts, pts: dts, isKeyframe: track == .audio || keyframe,
        payload: ByteBuffer(repeating: 1, count: bytes))
}

func header(_ track: Track) -> MediaPacket {
    MediaPacket(
        track: track, codec: track == .video ? .h264 : .aac, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true,
        payload: ByteBuffer(bytes: [1, 2, 3]))
}

/// What a queued reader hands its consumer, as (track, dts, keyframe) for frames and a word for the rest.
func describe(_ events: [StreamEvent]) -> [String] {
    events.map { event in
        switch event.kind {
        case .packet(let p) where p.kind == .sequenceHeader: "\(p.track)-header"
        case .packet(let p): "\(p.track)\(p.isKeyframe && p.track == .video ? "K" : "")@\(p.dts)"
        case .metadata: "metadata"
        case .started: "started"
        case .ended: "ended"
        case .clock: "clock"
        case .cuePlaced: "cuePlaced"
        }
    }
}

final class Wakes: Sendable {
    let count = Atomic(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

@Suite struct QueuedStreamReaderTests {
    let publish = PublishID(rawValue: 1)

    func reader(capacity: Int, lag: TimeAmount = .seconds(10), wakes: Wakes) -> QueuedStreamReader {
        var configuration = QueuedStreamReader.Configuration()
        configuration.capacity = capacity
        configuration.maxLag = lag
        return QueuedStreamReader(eventLoop: EmbeddedEventLoop(), configuration: configuration) {
            wakes.add()
        }
    }

    /// A reader that is not taking skips to the next keyframe: the keyframe and what follows go in, the rest of
    /// the GOP it could not take never does, and every frame left out is counted.
    @Test func aFullQueueSkipsWholeGOPs() {
        let wakes = Wakes()
        let reader = reader(capacity: 4, wakes: wakes)
        let frames = [
            frame(.video, dts: 0, keyframe: true), frame(.video, dts: 40), frame(.audio, dts: 41), frame(.video, dts: 80),
            // Full: from here to the next keyframe nothing goes in.
            frame(.video, dts: 120), frame(.audio, dts: 121), frame(.video, dts: 160),
            frame(.video, dts: 200, keyframe: true), frame(.audio, dts: 201), frame(.video, dts: 240),
        ]
        for f in frames { reader.receive(StreamEvent(publish: publish, kind: .packet(f))) }
        #expect(describe(reader.take()) == ["videoK@200", "audio@201", "video@240"])
        #expect(reader.droppedFrames == 7, "3 skipped while full, 4 queued ones of the GOP the reader was too late for")
        #expect(reader.closedReason == nil)
    }

    /// Sequence headers, metadata and the end are never dropped, even in a full queue.
    @Test func controlEventsAreKeptWhileFramesAreSkipped() {
        let wakes = Wakes()
        let reader = reader(capacity: 2, wakes: wakes)
        for f in [frame(.video, dts: 0, keyframe: true), frame(.video, dts: 40), frame(.video, dts: 80)] {
            reader.receive(StreamEvent(publish: publish, kind: .packet(f)))
        }
        reader.receive(StreamEvent(publish: publish, kind: .packet(header(.video))))
        reader.receive(StreamEvent(publish: publish, kind: .ended(reason: "gone")))
        #expect(describe(reader.take()) == ["videoK@0", "video@40", "video-header", "ended"])
    }

    /// The consumer is woken once per batch, not per event.
    @Test func oneWakeUntilTheConsumerTakes() throws {
        let wakes = Wakes()
        let loop = EmbeddedEventLoop()
        let reader = QueuedStreamReader(eventLoop: loop) { wakes.add() }
        for dts in 0..<10 { reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: Int64(dts))))) }
        loop.run()
        #expect(wakes.value == 1)
        #expect(reader.take(limit: 4).count == 4)
        reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: 10))))
        loop.run()
        #expect(wakes.value == 1, "events still queued: the consumer takes them without a wake")
        #expect(reader.take().count == 7)
        reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: 11))))
        loop.run()
        #expect(wakes.value == 2)
    }

    /// A reader whose queue has not emptied within the lag limit is closed, and its consumer woken to see it.
    @Test func aReaderBehindPastTheLagLimitIsClosed() async throws {
        let wakes = Wakes()
        let loop = EmbeddedEventLoop()
        var configuration = QueuedStreamReader.Configuration()
        configuration.maxLag = .milliseconds(50)
        let reader = QueuedStreamReader(eventLoop: loop, configuration: configuration) { wakes.add() }
        reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: 0))))
        reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: 1))))
        #expect(reader.closedReason == nil)
        try await Task.sleep(for: .milliseconds(120))
        reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: 2))))
        #expect(reader.closedReason?.contains("behind") == true)
        #expect(reader.take().isEmpty)
        #expect(reader.droppedFrames == 3, "the frames it never got count as dropped")
        loop.run()
        #expect(wakes.value == 2)
    }

    /// Audio-only streams have no video keyframes: any audio frame is a place to start, so a full queue gives
    /// up its backlog for the newest frame.
    @Test func audioOnlyStreamsRestartAtAnyFrame() {
        let wakes = Wakes()
        let reader = reader(capacity: 2, wakes: wakes)
        for dts in 0..<5 { reader.receive(StreamEvent(publish: publish, kind: .packet(frame(.audio, dts: Int64(dts))))) }
        #expect(describe(reader.take()) == ["audio@4"])
        #expect(reader.droppedFrames == 4)
    }
}

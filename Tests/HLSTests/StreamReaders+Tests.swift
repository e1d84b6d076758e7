import Media
import NIOCore
import Testing

@testable import StreamHub

/// A slow reader's bounded queue drops events for that reader alone; the publisher and other readers go on.
@Suite struct StreamReadersTests {
    func packet(_ dts: Int64) -> StreamEvent {
        .packet(MediaPacket(track: .video, codec: .h264, kind: .frame, dts: dts, pts: dts, isKeyframe: false, payload: ByteBuffer()))
    }

    @Test func fullQueueDropsForThatReaderOnly() async {
        let hub = StreamHub()
        let readers = hub.readers(of: StreamPath("live/x")!)
        let slow = readers.makeReader(capacity: 2)
        let fast = readers.makeReader(capacity: 100)
        for dts in 0..<5 { readers.deliver(packet(Int64(dts))) }
        #expect(readers.droppedEvents == 3)
        var fastCount = 0
        for await case .packet(let p) in fast {
            fastCount += 1
            if p.dts == 4 { break }
        }
        #expect(fastCount == 5)
        var slowTimes: [Int64] = []
        for await case .packet(let p) in slow {
            slowTimes.append(p.dts)
            if slowTimes.count == 2 { break }
        }
        #expect(slowTimes == [0, 1], "the oldest events are kept, the newest dropped")
    }
}

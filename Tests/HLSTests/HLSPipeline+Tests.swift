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
        let pipeline = HLSPipeline(
            path: path, configuration: HLSConfiguration(), store: store,
            sequences: HLSSequenceStore(database: try Database(directory: directory.path)), mirror: nil,
            logger: Logger(label: "test"))
        #expect(pipeline.receive(.started(remoteAddress: "test")), "a new playlist asks for sequence numbers")
        let extra = 10
        for n in 0..<(HLSPipeline.waitingLimit + extra) {
            let packet = MediaPacket(
                track: .audio, codec: .aac, kind: .frame, dts: Int64(n), pts: Int64(n), isKeyframe: true, payload: ByteBuffer())
            #expect(!pipeline.receive(.packet(packet)))
        }
        #expect(!pipeline.receive(.ended(reason: "gone")), "the end of the publish still waits its turn")
        #expect(pipeline.droppedBeforeKeyframe == extra)
        #expect(!pipeline.begin(firstSequence: 7))
        #expect(store.stream(path) != nil, "the playlist starts once numbers arrive")
    }
}

import HLS
import Logging
import Media
import Store
import StreamHub
import Synchronization

/// Feeds one `HLSPipeline` from its stream path, synchronously: packets are remuxed on the publisher's own
/// connection thread, with no queue and no thread hop per packet.
final class HLSPipelineSubscriber: StreamSubscriber {
    private let pipeline: Mutex<HLSPipeline>
    private let path: StreamPath
    private let sequences: HLSSequenceStore
    private let logger: Logger

    init(pipeline: sending HLSPipeline, path: StreamPath, sequences: HLSSequenceStore, logger: Logger) {
        self.pipeline = Mutex(pipeline)
        self.path = path
        self.sequences = sequences
        self.logger = logger
    }

    func receive(_ event: StreamEvent) {
        if pipeline.withLock({ $0.receive(event) }) { reserveSequences() }
    }

    /// A new playlist's numbers come from the database; events wait in the pipeline meanwhile.
    private func reserveSequences() {
        Task {
            let first = await HLSPipeline.reserveSequences(for: path, in: sequences, logger: logger)
            if pipeline.withLock({ $0.begin(firstSequence: first) }) { reserveSequences() }
        }
    }
}

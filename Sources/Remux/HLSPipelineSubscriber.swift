import HLS
import Logging
import Media
import NIOCore
import NIOPosix
import StreamHub
import NIOConcurrencyHelpers

/// Feeds one `HLSPipeline` from its stream path, synchronously: packets are remuxed on the publisher's own
/// event loop, with no queue and no thread hop per packet (measured faster than a queue in issue 6's bench).
///
/// Everything reaches the pipeline on a publisher's loop: cues come through the stream, which hops them there,
/// and the answer of a sequence reservation hops back onto the loop that asked. The lock is only ever contended
/// for the instant two publishes of one path overlap (an old one's end still in flight while a new one starts).
final class HLSPipelineSubscriber: StreamReader {
    // The pipeline owns FFmpeg's pointers and so is not Sendable; it is only ever reached under `lock`.
    nonisolated(unsafe) private var pipeline: HLSPipeline
    private let lock = NIOLock()
    private let path: StreamPath
    private let reserve: @Sendable () async -> Int
    private let logger: Logger

    /// `reserve` reserves a block of sequence numbers and returns the first (the service's job).
    init(pipeline: sending HLSPipeline, path: StreamPath, logger: Logger, reserve: @escaping @Sendable () async -> Int) {
        self.pipeline = pipeline
        self.path = path
        self.reserve = reserve
        self.logger = logger
    }

    func receive(_ event: StreamEvent) {
        if lock.withLock({ pipeline.receive(event) }) { reserveSequences(answerOn: MultiThreadedEventLoopGroup.currentEventLoop) }
    }

    /// A new playlist's numbers come from the database; events wait in the pipeline meanwhile, and the waiting
    /// events are remuxed on the publisher's loop once the numbers are there.
    private func reserveSequences(answerOn loop: (any EventLoop)?) {
        Task {
            let first = await reserve()
            let begin: @Sendable () -> Void = { [self] in
                if lock.withLock({ pipeline.begin(firstSequence: first) }) { reserveSequences(answerOn: loop) }
            }
            if let loop { loop.execute(begin) } else { begin() }
        }
    }
}

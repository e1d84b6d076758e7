import FLV
import Foundation
import Media
import NIOCore
import RTMP
import StreamHub

/// The media half of a push: the queued reader attached at `NetStream.Publish.Start`, what it is sent, and the
/// figures the loop keeps. All on the session's event loop.
extension PushSession {
    func attachReader() {
        let state = self.state.value
        guard let stream = state.stream else { return }
        detachReader()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let reader = QueuedStreamReader(eventLoop: eventLoop, configuration: readerConfiguration) {
            loopBound.value.drain()
        }
        state.reader = reader
        stream.attach(reader)
    }

    func detachReader() {
        let state = self.state.value
        guard let reader = state.reader else { return }
        state.stream?.detach(reader)
        state.droppedBefore += reader.droppedFrames
        state.reader = nil
        publishFigures()
    }

    func writabilityChanged() {
        let state = self.state.value
        guard !state.drainScheduled, state.output?.isWritable == true else { return }
        state.drainScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            loopBound.value.state.value.drainScheduled = false
            loopBound.value.drain()
        }
    }

    func drain() {
        let state = self.state.value
        guard let output = state.output, let reader = state.reader else { return }
        if let reason = reader.closedReason {
            logger.warning("push target not keeping up; reconnecting", metadata: ["reason": "\(reason)"])
            update {
                $0.lastError = "target not keeping up: \(reason)"
                $0.lastErrorAt = Date()
            }
            state.intent = .lagging
            return output.close(reason: reason)
        }
        while output.isWritable, state.reader === reader {
            let events = reader.take()
            if events.isEmpty { break }
            for event in events where event.publish == state.stream?.publish {
                let (bytes, arrival) = send(event, to: output)
                state.bytesSent += bytes
                if let arrival { state.lastArrival = arrival }
            }
        }
        output.flush()
    }

    /// Moves the loop's figures into `status`: bytes, frames dropped, and the lag of the last frame written.
    func publishFigures() {
        let state = self.state.value
        let (bytes, dropped) = (state.bytesSent, state.droppedBefore + (state.reader?.droppedFrames ?? 0))
        let lag = state.lastArrival.map { Double((NIODeadline.now() - $0).nanoseconds) / 1e9 }
        update {
            $0.bytesSent = bytes
            $0.framesDropped = dropped
            if let lag { $0.lagSeconds = lag }
        }
    }

    /// Sends one event; returns the bytes written and, for a frame, when it arrived at the ingest.
    func send(_ event: StreamEvent, to output: any PlayOutput) -> (Int, NIODeadline?) {
        let id = state.value.messageStreamID
        switch event.kind {
        case .packet(let packet):
            if packet.kind == .sequenceHeader {
                let state = self.state.value
                if let previous = state.codecs[packet.track], previous != packet.codec {
                    logger.info("codec changed on republish; the target gets a fresh publish", metadata: ["track": "\(packet.track)"])
                    state.intent = .codecChanged
                    detachReader()
                    output.close(reason: "codec changed")
                    return (0, nil)
                }
                state.codecs[packet.track] = packet.codec
            }
            let written = output.writeMedia(packet, messageStreamID: id, shared: event.encodings.bytes)
            return (written, written > 0 && packet.kind == .frame ? packet.arrival : nil)
        case .metadata(let body):
            // A publisher sends metadata through `@setDataFrame`, which the server stores and hands its players.
            var payload = ByteBuffer()
            payload.writeAMF0(.string("@setDataFrame"))
            var rest = body
            payload.writeBuffer(&rest)
            output.send(PlayMessages.data(payload, timestamp: 0, messageStreamID: id))
            return (payload.readableBytes, nil)
        case .cuePlaced(let cue):
            let body = ScriptData.onCuePoint(name: cue.kind.rawValue, timeMS: cue.timestamp, json: cue.json)
            output.send(PlayMessages.data(body, timestamp: cue.timestamp, messageStreamID: id))
            return (body.readableBytes, nil)
        case .ended(let reason):
            logger.info("publisher gone; push waits the grace period", metadata: ["reason": "\(reason)"])
            detachReader()
            startGrace()
            waitForPublish(after: event.publish)
            return (0, nil)
        case .started, .clock:
            return (0, nil)
        }
    }

    func startGrace() {
        let state = self.state.value
        state.grace?.cancel()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        state.grace = eventLoop.scheduleTask(in: .milliseconds(Int64(graceSeconds * 1000))) {
            let session = loopBound.value
            let state = session.state.value
            state.grace = nil
            guard let output = state.output, state.reader == nil else { return }
            state.intent = .graceOver
            output.close(reason: "publish ended")
        }
    }

    func sampleBitrate(over elapsed: TimeAmount) {
        let state = self.state.value
        let delta = state.bytesSent - state.bytesAtLastSample
        state.bytesAtLastSample = state.bytesSent
        publishFigures()
        update { $0.bitsPerSecond = Double(delta * 8) * 1e9 / Double(max(elapsed.nanoseconds, 1)) }
    }
}

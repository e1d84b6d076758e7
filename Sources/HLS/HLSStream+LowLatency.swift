import Foundation
import NIOCore

/// The low-latency rendition as the remuxer writes it and HTTP reads it, with blocking reloads parked here
/// (draft-pantos-hls-rfc8216bis §6.2.5.2): a held request costs a parked continuation, not a thread, and every
/// part that lands wakes them all to look again.
extension HLSStream {
    // MARK: Writing (the remuxer)

    /// A timeline starts: its segments need the initialization segment `file`, served as `uri`.
    public func addMap(uri: String, file: SegmentFile) {
        change { $0.addMap(uri: uri, file: file) }
    }

    /// Fixes `PART-TARGET` (seconds) once the first segment is whole.
    public func fixPartTarget(_ seconds: Double) {
        change { $0.fixPartTarget(seconds) }
    }

    public func append(part: PartialSegment, programDateTime: Date, discontinuity: Bool) {
        change { $0.append(part: part, programDateTime: programDateTime, discontinuity: discontinuity) }
    }

    public func append(lowLatencySegment segment: Segment, now: Date = Date()) {
        change { $0.append(segment: segment, now: now) }
    }

    /// The rendition stopped until the next timeline: the segment being written is no longer listed.
    public func abandonLowLatencySegment() {
        change { $0.abandonOpen() }
    }

    private func change(_ body: (inout LowLatencyRendition) -> Void) {
        let waiters = storage.withLockedValue { storage -> [Waiter] in
            guard storage.lowLatency != nil else { return [] }
            body(&storage.lowLatency!)
            return storage.lowLatencyChanged()
        }
        for waiter in waiters { waiter.wake() }
    }

    // MARK: Reading (HTTP)

    public var makesLowLatency: Bool { storage.withLockedValue { $0.lowLatency != nil } }

    /// What a blocking reload or a part request looks at, read together under one lock.
    public struct LowLatencyView: Sendable {
        /// nil before the first whole segment.
        public var playlist: ByteBuffer?
        /// Goes up with every change: wait for it to move with `awaitLowLatencyChange(after:until:)`.
        public var version: Int
        public var state: State
        public var targetDuration: Int
        public var partTarget: Double?
        public var lastPosition: (sequence: Int, part: Int?)?
        public var nextPart: (sequence: Int, index: Int)?
        /// Whether the requested position (if any) is in the playlist.
        public var contains: Bool
    }

    /// The low-latency playlist and where it stands; `sequence`/`part` ask whether that position is listed.
    /// `skip` asks for a delta update (rendered for the asker, not cached; with `v2` the date ranges of skipped
    /// segments are left out too). nil when the output makes no low-latency rendition.
    public func lowLatencyView(sequence: Int? = nil, part: Int? = nil, skip: DeliveryDirectives.Skip? = nil) -> LowLatencyView? {
        storage.withLockedValue { storage in
            guard let rendition = storage.lowLatency else { return nil }
            var text = skip == nil ? storage.renderedLowLatency : nil
            if text == nil, var playlist = rendition.playlist(epoch: epoch, ended: storage.state == .ended, skip: skip != nil) {
                var ranges = storage.visibleDateRanges(now: Date())
                if skip == .segmentsAndDateRanges, let first = rendition.window.segments.first?.sequence {
                    // Ranges of skipped segments are left out; those no longer listed at all are named as removed.
                    let visible = Set(ranges.map(\.id))
                    playlist.lowLatency?.recentlyRemovedDateRanges = storage.dateRanges
                        .filter { $0.segment < first && !visible.contains($0.range.id) }.map(\.range.id)
                    let boundary = first + rendition.skippableSegments
                    let before = Set(storage.dateRanges.filter { $0.segment < boundary }.map(\.range.id))
                    ranges.removeAll { before.contains($0.id) }
                }
                playlist.dateRanges = ranges.map { $0.render(formatDate: MediaPlaylist.formatDate) }
                text = ByteBuffer(string: playlist.render())
                if skip == nil { storage.renderedLowLatency = text }
            }
            return LowLatencyView(
                playlist: text, version: storage.lowLatencyVersion, state: storage.state, targetDuration: rendition.window.targetDuration,
                partTarget: rendition.partTarget, lastPosition: rendition.lastPosition, nextPart: rendition.nextPart(epoch: epoch),
                contains: sequence.map { rendition.contains(sequence: $0, part: part) } ?? true)
        }
    }

    /// A part, segment or initialization segment of the low-latency rendition, by URI.
    public func lowLatencyFile(uri: String) -> (file: SegmentFile, range: Range<Int>)? {
        storage.withLockedValue { $0.lowLatency?.file(uri: uri) }
    }

    /// Returns when the rendition changed after `version`, or at `deadline` (on `eventLoop`'s clock), whichever
    /// comes first. Cancellation is not awaited: the deadline bounds every wait.
    public func awaitLowLatencyChange(after version: Int, until deadline: NIODeadline, on eventLoop: any EventLoop) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            onLowLatencyChange(after: version, until: deadline, on: eventLoop) { continuation.resume() }
        }
    }

    /// Runs `body` once, on `eventLoop`, when the rendition changed after `version` (at once if it already has,
    /// or the stream ended), or soon after `deadline` (on `eventLoop`'s clock), whichever comes first. `body`
    /// learns nothing of which: the caller looks again (`lowLatencyView`). For waiters that live on an event loop,
    /// such as a connection's handler, with no task to wake.
    public func onLowLatencyChange(
        after version: Int, until deadline: NIODeadline, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void
    ) {
        let setTimer: Bool? = storage.withLockedValue { storage in
            guard storage.lowLatencyVersion == version, storage.state != .ended else { return nil }
            storage.waiters.append(Waiter(eventLoop: eventLoop, deadline: deadline, body: body))
            // One timer per stream, at the earliest deadline, not one per waiter: a part wakes thousands of waiters
            // at once, and cancelling a timer walks the loop's whole timer queue (measured: 28 % of answering them).
            guard storage.sweepAt.map({ deadline < $0 }) ?? true else { return false }
            storage.sweepAt = deadline
            return true
        }
        switch setTimer {
        case nil: eventLoop.execute(body)
        case true?: setWaiterTimer(at: deadline, on: eventLoop)
        case false?: break
        }
    }

    private func setWaiterTimer(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        eventLoop.scheduleTask(deadline: deadline) { [self] in sweepWaiters(timerAt: deadline, now: eventLoop.now) }
    }

    /// Wakes the waiters whose deadline has come, and sets the timer again for the earliest of the rest.
    private func sweepWaiters(timerAt deadline: NIODeadline, now: NIODeadline) {
        let (expired, next): ([Waiter], Waiter?) = storage.withLockedValue { storage in
            // A timer for an earlier deadline was set after this one: that one sweeps.
            guard storage.sweepAt == deadline else { return ([], nil) }
            let expired = storage.waiters.filter { $0.deadline <= now }
            storage.waiters.removeAll { $0.deadline <= now }
            let next = storage.waiters.min { $0.deadline < $1.deadline }
            storage.sweepAt = next?.deadline
            return (expired, next)
        }
        for waiter in expired { waiter.wake() }
        if let next { setWaiterTimer(at: next.deadline, on: next.eventLoop) }
    }

    /// Requests parked now (for the stats and the tests).
    public var parkedRequests: Int { storage.withLockedValue { $0.waiters.count } }
}

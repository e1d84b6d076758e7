import Cues
import Foundation
import Media
import NIOCore
import Synchronization
import NIOConcurrencyHelpers

/// One stream's HLS output as viewers see it: the segment window, the rendered playlists (cached until the next
/// change), and who is watching.
public final class HLSStream: Sendable {
    public enum State: String, Sendable, Codable {
        /// A publisher is sending.
        case live
        /// The publisher left; a republish within the grace period continues the playlist.
        case grace
        /// The playlist has `EXT-X-ENDLIST` and is kept for the retention period.
        case ended
    }

    struct Storage {
        var window: SegmentWindow
        var state: State = .live
        var renderedPlaylist: ByteBuffer?
        var renderedMaster: ByteBuffer?
        var codecs: [String] = []
        var resolution: (width: Int, height: Int)?
        var viewers: [String: Date] = [:]
        var playlistVersion = 0
        var stateChangedAt = Date()
        var listingDelays: [Double] = []
        var dateRanges: [(range: DateRange, segment: Int)] = []
        /// The CMAF rendition for Low-Latency HLS, when the output makes one.
        var lowLatency: LowLatencyRendition?
        var renderedLowLatency: ByteBuffer?
        /// Goes up with every part, segment and state change of the low-latency rendition.
        var lowLatencyVersion = 0
        /// Blocking reloads and preload-hinted part requests parked until the rendition changes (§6.2.5.2).
        var waiters: [Waiter] = []
        /// The deadline the stream's one waiter timer is set for, if one is set.
        var sweepAt: NIODeadline?
    }

    struct Waiter {
        /// Where `body` runs: the loop of the connection that waits.
        var eventLoop: any EventLoop
        var deadline: NIODeadline
        var body: @Sendable () -> Void

        func wake() { eventLoop.execute(body) }
    }

    /// How many cue date ranges are remembered per stream.
    static let dateRangeLimit = 256

    /// How many listing delays are kept for percentiles.
    static let listingDelaySamples = 512

    public let path: StreamPath
    public let epoch: String
    /// Requests and bytes served, counted by the HTTP layer.
    public let delivery = DeliveryCounters()
    /// DTS regressions the remuxer repaired for this output so far.
    public let timestampRepairs = Atomic<Int>(0)
    /// Frames dropped without ending the output: refused by the muxer, or waiting for usable headers.
    public let droppedFrames = Atomic<Int>(0)
    let storage: NIOLockedValueBox<Storage>

    /// `lowLatency`: the output also makes a CMAF rendition for Low-Latency HLS (`ll.m3u8`).
    public init(path: StreamPath, epoch: String, windowSize: Int, targetDuration: Double, lowLatency: Bool = false) {
        self.path = path
        self.epoch = epoch
        var storage = Storage(window: SegmentWindow(windowSize: windowSize, targetDuration: targetDuration))
        if lowLatency { storage.lowLatency = LowLatencyRendition(windowSize: windowSize, targetDuration: targetDuration) }
        self.storage = NIOLockedValueBox(storage)
    }

    // MARK: Writing (the remuxer)

    public func append(_ segment: Segment, now: Date = Date()) {
        storage.withLockedValue {
            $0.window.append(segment, now: now)
            $0.invalidate()
        }
    }

    public func describe(codecs: [String], resolution: (width: Int, height: Int)?) {
        storage.withLockedValue {
            $0.codecs = codecs
            $0.resolution = resolution
            $0.renderedMaster = nil
        }
    }

    public func setState(_ state: State, now: Date = Date()) {
        let waiters = storage.withLockedValue {
            $0.state = state
            $0.stateChangedAt = now
            if state == .ended { $0.end() }
            $0.invalidate()
            return $0.lowLatencyChanged()
        }
        for waiter in waiters { waiter.wake() }
    }

    /// Moves `from` → `to` only if the state is still `from` (and, with `since`, has not changed since that
    /// instant): the remuxer and housekeeping both move a playlist out of grace, and whichever comes second
    /// must find out it lost. Returns whether the move happened.
    public func transition(from: State, to: State, since: Date? = nil, now: Date = Date()) -> Bool {
        let (moved, waiters) = storage.withLockedValue { storage -> (Bool, [HLSStream.Waiter]) in
            guard storage.state == from, since.map({ [changed = storage.stateChangedAt] in $0 == changed }) ?? true else { return (false, []) }
            storage.state = to
            storage.stateChangedAt = now
            if to == .ended { storage.end() }
            storage.invalidate()
            return (true, storage.lowLatencyChanged())
        }
        for waiter in waiters { waiter.wake() }
        return moved
    }

    /// The state and when it was entered, read together.
    public var stateSince: (state: State, since: Date) { storage.withLockedValue { ($0.state, $0.stateChangedAt) } }

    /// Adds a cue's date range; it is listed once segment `segmentSequence` is published.
    public func addDateRange(_ range: DateRange, segmentSequence: Int) {
        storage.withLockedValue {
            $0.dateRanges.append((range, segmentSequence))
            if $0.dateRanges.count > Self.dateRangeLimit { $0.dateRanges.removeFirst() }
            $0.invalidate()
        }
    }

    /// Records the time from a segment's media end (arrival of the keyframe that closed it) to its listing.
    public func recordListingDelay(_ seconds: Double) {
        storage.withLockedValue {
            $0.listingDelays.append(seconds)
            if $0.listingDelays.count > Self.listingDelaySamples { $0.listingDelays.removeFirst() }
        }
    }

    /// Listing delays in seconds, oldest first.
    public var listingDelays: [Double] { storage.withLockedValue { $0.listingDelays } }

    /// Nearest-rank percentile (0…1) of the recent listing delays, in seconds; nil before the first one.
    public func listingDelay(percentile p: Double) -> Double? {
        let sorted = listingDelays.sorted()
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    /// Frees removed segments whose grace time is over.
    public func purge(now: Date = Date()) {
        storage.withLockedValue {
            _ = $0.window.purge(now: now)
            $0.lowLatency?.purge(now: now)
        }
    }

    // MARK: Reading (HTTP)

    public var state: State { storage.withLockedValue { $0.state } }
    public var stateChangedAt: Date { storage.withLockedValue { $0.stateChangedAt } }
    public var targetDuration: Int { storage.withLockedValue { $0.window.targetDuration } }
    public var segments: [Segment] { storage.withLockedValue { $0.window.segments } }

    /// Bytes of segments held in their memory files: those listed, those removed from the playlist but still served for a
    /// while (RFC 8216 §6.2.2), and the one being written.
    public var heldBytes: (listed: Int, retained: Int, writing: Int) {
        storage.withLockedValue { storage in
            (storage.window.segments.reduce(0) { $0 + $1.file.size },
             storage.window.removed.reduce(0) { $0 + $1.segment.file.size },
             writingBytes.load(ordering: .relaxed))
        }
    }

    /// Bytes the remuxer has written of the next segment so far.
    public let writingBytes = Atomic<Int>(0)
    public var playlistVersion: Int { storage.withLockedValue { $0.playlistVersion } }

    /// The media playlist text, rendered once per change; nil before the first segment.
    public var mediaPlaylist: ByteBuffer? { mediaPlaylistVersion?.text }

    /// The media playlist with what a response about it needs, read together under one lock (this runs for
    /// every playlist request).
    public var mediaPlaylistVersion: PlaylistVersion? {
        storage.withLockedValue { storage in
            guard !storage.window.segments.isEmpty else { return nil }
            let text: ByteBuffer
            if let cached = storage.renderedPlaylist {
                text = cached
            } else {
                var playlist = storage.window.playlist
                playlist.dateRanges = storage.visibleDateRanges(now: Date()).map { $0.render(formatDate: MediaPlaylist.formatDate) }
                text = ByteBuffer(string: playlist.render())
                storage.renderedPlaylist = text
            }
            return PlaylistVersion(text: text, version: storage.playlistVersion, state: storage.state, targetDuration: storage.window.targetDuration)
        }
    }

    public struct PlaylistVersion: Sendable {
        public var text: ByteBuffer
        /// Goes up with every change, so `epoch-version` makes an ETag.
        public var version: Int
        public var state: State
        public var targetDuration: Int
    }

    /// The multivariant playlist with bandwidth and frame rate measured over the current window.
    public var multivariantPlaylist: ByteBuffer? {
        storage.withLockedValue { storage in
            let segments = storage.window.segments
            guard !segments.isEmpty else { return nil }
            if let cached = storage.renderedMaster { return cached }
            let duration = segments.reduce(0) { $0 + $1.duration }
            let bytes = segments.reduce(0) { $0 + $1.file.size }
            let frames = segments.reduce(0) { $0 + $1.videoFrames }
            let peak = segments.map(\.bitrate).max() ?? 0
            let playlist = MultivariantPlaylist(
                bandwidth: Int(peak.rounded(.up)), averageBandwidth: duration > 0 ? Int((Double(bytes * 8) / duration).rounded(.up)) : 0,
                codecs: storage.codecs, resolution: storage.resolution,
                frameRate: frames > 0 && duration > 0 ? Double(frames) / duration : nil, mediaPlaylistURI: "index.m3u8")
            let rendered = ByteBuffer(string: playlist.render())
            storage.renderedMaster = rendered
            return rendered
        }
    }

    public func segment(uri: String) -> Segment? {
        storage.withLockedValue { $0.window.segment(uri: uri) }
    }

    /// Records a playlist request; a viewer counts while it polls within three target durations.
    public func sawViewer(_ client: String, now: Date = Date()) {
        storage.withLockedValue { $0.viewers[client] = now }
    }

    public func viewerCount(now: Date = Date()) -> Int {
        storage.withLockedValue { storage in
            let horizon = now.addingTimeInterval(-3 * Double(storage.window.targetDuration))
            storage.viewers = storage.viewers.filter { $0.value >= horizon }
            return storage.viewers.count
        }
    }
}

extension HLSStream.Storage {
    /// Date ranges of published segments in the window, plus pins, coupons and lotteries still on screen after
    /// their segment slid out.
    func visibleDateRanges(now: Date) -> [DateRange] {
        guard let last = window.segments.last?.sequence, let first = window.segments.first?.sequence else { return [] }
        let published = dateRanges.filter { $0.segment <= last }
        let entries = published.map { entry in
            CueScreen.Entry(
                kind: entry.range.kind, start: entry.range.startDate, duration: entry.range.duration,
                payloadEnd: entry.segment < first ? CueScreen.payloadEnd(kind: entry.range.kind, playerJSON: entry.range.playerJSON) : nil)
        }
        let stillOn = Set(CueScreen.onScreen(entries, now: now))
        return published.indices.compactMap { index in
            let entry = published[index]
            if entry.segment >= first { return entry.range }
            return CueScreen.lasting.contains(entry.range.kind) && stillOn.contains(index) ? entry.range : nil
        }
    }

    mutating func invalidate() {
        renderedPlaylist = nil
        renderedMaster = nil
        playlistVersion += 1
    }

    mutating func end() {
        window.end()
        lowLatency?.end()
    }

    /// Notes a change of the low-latency rendition; returns the parked requests to wake (outside the lock).
    mutating func lowLatencyChanged() -> [HLSStream.Waiter] {
        renderedLowLatency = nil
        lowLatencyVersion += 1
        // Every part comes here; most have no one waiting.
        guard !waiters.isEmpty else { return [] }
        defer { waiters = [] }
        return waiters
    }
}

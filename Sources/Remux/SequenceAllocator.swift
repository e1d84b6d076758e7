import Media

/// Where HLS media sequence numbers come from: durable, so numbers (and segment URIs) are never reused, even
/// across a restart. The server gives the SQLite store; the remuxer knows only this.
public protocol SequenceAllocator: Sendable {
    /// The number the next segment of `path` gets.
    func next(for path: StreamPath) async throws -> Int
    /// Records that numbers below `next` are taken; never moves backwards.
    func advance(_ path: StreamPath, to next: Int) async throws
}

import Foundation
import HLS
import Logging
import Media

/// Writes segments and playlists under a directory for users who want files, atomically (write, then rename),
/// and deletes segments once they are no longer fetchable. Paths come from validated stream paths and
/// server-made segment names only, so nothing can be written outside the directory.
final class DiskMirror: Sendable {
    let root: URL
    let logger: Logger
    /// File writes leave the remuxer's thread (a connection's event loop) and keep their order here.
    private let queue = DispatchQueue(label: "cuecast.hls-mirror")

    init(directory: String, logger: Logger) {
        root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        self.logger = logger
    }

    func directory(for path: StreamPath) -> URL {
        root.appendingPathComponent(path.app, isDirectory: true).appendingPathComponent(path.name, isDirectory: true)
    }

    func write(_ segment: Segment, playlist stream: HLSStream) {
        queue.async { self.store(segment, playlist: stream) }
    }

    private func store(_ segment: Segment, playlist stream: HLSStream) {
        let dir = directory(for: stream.path)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try atomicWrite(Data(segment.file.read().readableBytesView), to: dir.appendingPathComponent(segment.uri))
            try writePlaylists(of: stream)
        } catch {
            logger.error("could not mirror HLS to disk: \(error)", metadata: ["stream": "\(stream.path)"])
        }
    }

    func writePlaylists(of stream: HLSStream) throws {
        let dir = directory(for: stream.path)
        if let playlist = stream.mediaPlaylist {
            try atomicWrite(Data(playlist.readableBytesView), to: dir.appendingPathComponent("index.m3u8"))
        }
        if let master = stream.multivariantPlaylist {
            try atomicWrite(Data(master.readableBytesView), to: dir.appendingPathComponent("master.m3u8"))
        }
    }

    /// Waits until every write queued so far is on disk (shutdown: the ended playlists must be there before exit).
    func drain() {
        queue.sync {}
    }

    /// Deletes segment files the stream no longer serves.
    func prune(_ stream: HLSStream) {
        queue.async { self.deleteUnserved(of: stream) }
    }

    private func deleteUnserved(of stream: HLSStream) {
        let dir = directory(for: stream.path)
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for file in files where file.hasSuffix(".ts") && stream.segment(uri: file) == nil {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(file))
        }
        try? writePlaylists(of: stream)
    }

    func remove(_ path: StreamPath) {
        let dir = directory(for: path)
        queue.async { try? FileManager.default.removeItem(at: dir) }
    }

    private func atomicWrite(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        // rename(2) replaces the old file in one step, so readers see the old or the new bytes, never a mix.
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }
}

import Foundation

/// Finds the repository's `Fixtures/` folder from this source file's location, so tests run from any directory.
public enum Fixtures {
    public static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    public static func data(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    /// The H.264 High (B-frames) + AAC-LC clip.
    public static let bframes = "bframes-h264-aac.flv"
    public static let videoOnly = "bframes-h264-video-only.flv"
    public static let audioOnly = "aac-audio-only.flv"
    /// 3 s of 320×180 H.264 Main + AAC: another resolution for republish tests.
    public static let small = "small-320x180.flv"
    /// 4 s of HEVC (B-frames, 1 s GOP) in MP4, sent as Enhanced RTMP by the HEVC test.
    public static let hevc = "hevc-320x180.mp4"
}

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cuecast-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

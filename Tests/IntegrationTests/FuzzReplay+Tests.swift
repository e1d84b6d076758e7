import Foundation
import Testing
import TestSupport

/// The fuzz targets' seeds and every input that ever crashed one (`Fixtures/fuzz/<target>`), replayed through the
/// same code the fuzzer drives (`CueCastFuzz` built without libFuzzer): none may crash. Fuzzing itself is
/// `scripts/fuzz`.
@Suite struct FuzzReplayTests {
    static var binary: String { CLITests.binary.replacingOccurrences(of: "/cuecast", with: "/CueCastFuzz") }
    static let targets = ["chunks", "handshake", "amf0", "amf3", "flv-tags", "codec-records", "cue-json", "hls-query"]

    @Test(arguments: targets) func seedsAndSavedCrashesReplayCleanly(target: String) async throws {
        let seeds = try TemporaryDirectory()
        defer { seeds.remove() }
        let root = Fixtures.directory.deletingLastPathComponent()
        _ = try await Tool("python3").run([root.appendingPathComponent("scripts/testing/fuzz_seeds.py").path, Fixtures.directory.path, seeds.path])
        let saved = Fixtures.directory.appendingPathComponent("fuzz/\(target)").path
        let seedCount = try FileManager.default.contentsOfDirectory(atPath: "\(seeds.path)/\(target)").count
        let savedCount = (try? FileManager.default.contentsOfDirectory(atPath: saved).count) ?? 0
        let output = try await Tool(Self.binary).run([target, "\(seeds.path)/\(target)", saved], timeout: 120)
        #expect(seedCount > 0)
        #expect(output.text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(target): \(seedCount + savedCount) inputs ran")
    }
}

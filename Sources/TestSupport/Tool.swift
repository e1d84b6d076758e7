import Dispatch
import Foundation

/// Runs a real tool (ffmpeg, ffprobe, gst-launch-1.0) and collects its output.
public struct Tool: Sendable {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
        public var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case timedOut(String, seconds: Double, stderr: String)
        case failed(String, status: Int32, stderr: String)

        public var description: String {
            switch self {
            case .notFound(let tool): "\(tool) not found (scripts/test installs the tools and builds cuecast)"
            case .timedOut(let tool, let s, let err): "\(tool) still running after \(s) s; stderr:\n\(err)"
            case .failed(let tool, let status, let err): "\(tool) exited \(status); stderr:\n\(err)"
            }
        }
    }

    public let name: String

    public init(_ name: String) { self.name = name }

    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs to completion; kills the process if it outlives `timeout`.
    public func run(_ arguments: [String], timeout: Double = 60, requireSuccess: Bool = true) async throws -> Output {
        guard let executable = Self.find(name) else { throw Failure.notFound(name) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdoutFile = try TemporaryFile()
        let stderrFile = try TemporaryFile()
        process.standardOutput = stdoutFile.handle
        process.standardError = stderrFile.handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        // The status is kept from the call that saw the exit: Foundation may reap the child right after, and a
        // second look can then find neither the child nor Foundation's figures yet (that read as -1 once).
        var status: Int32?
        while true {
            status = process.exitStatus
            if status != nil { break }
            if Date() > deadline {
                await Self.stop(process)
                throw Failure.timedOut(name, seconds: timeout, stderr: stderrFile.contents())
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                // Cancelled: the child must not outlive the test that started it.
                await Self.stop(process)
                throw error
            }
        }
        let output = Output(status: status ?? -1, stdout: stdoutFile.data(), stderr: stderrFile.contents())
        if requireSuccess && output.status != 0 {
            throw Failure.failed(name, status: output.status, stderr: output.stderr)
        }
        return output
    }
}

extension Tool {
    /// SIGTERM, then SIGKILL if the child is still there after 2 s. Waits without blocking a thread of the
    /// concurrency pool (`waitUntilExit` would, and a child slow to exit then starves every other test).
    static func stop(_ process: Process) async {
        process.terminate()
        for attempt in 0..<80 {
            guard process.isAlive else { return }
            if attempt == 40 { kill(process.processIdentifier, SIGKILL) }
            await pause(milliseconds: 50)
        }
    }

    /// A sleep that cancellation does not cut short.
    static func pause(milliseconds: Int) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { continuation.resume() }
        }
    }
}

/// A file to redirect a child's output into; pipes could fill up and block the child.
final class TemporaryFile: @unchecked Sendable {
    let url: URL
    let handle: FileHandle

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cuecast-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        handle = try FileHandle(forWritingTo: url)
    }

    deinit {
        try? handle.close()
        try? FileManager.default.removeItem(at: url)
    }

    func data() -> Data { (try? Data(contentsOf: url)) ?? Data() }
    func contents() -> String { String(decoding: data(), as: UTF8.self) }
}

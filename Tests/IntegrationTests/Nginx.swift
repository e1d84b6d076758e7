import Foundation
import Testing
import TestSupport

/// A real nginx started by a test with a configuration of its own (RTMP relay, HTTP cache), in a directory of
/// its own, stopped with SIGKILL: the test process blocks most signals and a child inherits that mask, so
/// nginx would never see TERM.
struct Nginx {
    let process: Process
    let directory: TemporaryDirectory

    /// A free TCP port on 127.0.0.1 for nginx to listen on.
    static func freePort() async throws -> Int {
        let text = try await Tool("python3").run([
            "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
        ]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        return try #require(Int(text))
    }

    /// A dynamic module's file (`ngx_rtmp_module`, `ngx_stream_module`), where Debian puts it.
    static func module(_ name: String) -> String? {
        ["/usr/lib/nginx/modules/\(name).so", "/usr/share/nginx/modules/\(name).so"].first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Starts nginx on `body` (its `events`, `http`, `rtmp` or `stream` blocks); `<dir>` in it is nginx's directory.
    /// Where an `http` block's temporary files go: inside the test's directory, not the system's.
    static let httpTemporaryPaths = "client_body_temp_path <dir>/body; proxy_temp_path <dir>/proxy; fastcgi_temp_path <dir>/fastcgi; "
        + "uwsgi_temp_path <dir>/uwsgi; scgi_temp_path <dir>/scgi;"

    static func start(_ body: String, rtmpModule: Bool = false, streamModule: Bool = false) throws -> Nginx {
        let directory = try TemporaryDirectory()
        let modules = [rtmpModule ? module("ngx_rtmp_module") : nil, streamModule ? module("ngx_stream_module") : nil].compactMap { $0 }
        let config = """
            \(modules.map { "load_module \($0);" }.joined(separator: "\n"))
            daemon off; master_process off; pid \(directory.path)/nginx.pid; error_log \(directory.path)/error.log info;
            \(body.replacingOccurrences(of: "<dir>", with: directory.path))
            """
        try config.write(toFile: directory.path + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Tool.find("nginx"), "nginx is installed by scripts/test"))
        process.arguments = ["-p", directory.path, "-c", directory.path + "/nginx.conf", "-e", directory.path + "/error.log"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        return Nginx(process: process, directory: directory)
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitForExit()
        directory.remove()
    }
}

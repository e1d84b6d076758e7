#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// Why a TCP connect failed, in a few words ("connection refused", "no address for host"), for a push target's
/// `lastError`, its log line and the CLI, instead of NIO's nested descriptions (a `NIOConnectionError` holding one
/// `SingleConnectionFailure` per address tried, each holding an `IOError`).
public enum ConnectFailure {
    /// Whether `error` is a failed connect (no address, refused, unreachable, timed out), not a later failure.
    public static func isConnect(_ error: any Error) -> Bool {
        if error is NIOConnectionError || error is IOError { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        return false
    }

    public static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "no address for \(error.host): \(dns)" }
            return "no address for \(error.host)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? ChannelError, case .connectTimeout(let limit) = error {
            return "no answer within \(limit.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}

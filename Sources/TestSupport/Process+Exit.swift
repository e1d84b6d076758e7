#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension Process {
    /// The child's exit status once it has exited (its exit code, or the signal that ended it), nil while it runs.
    ///
    /// Read with `waitid(WNOWAIT)`, which leaves the child for Foundation to reap. Foundation's own `isRunning` and
    /// `waitUntilExit` can lag far behind the exit: one manager thread reaps children one at a time, with a
    /// blocking `waitpid`, so under many parallel tests a child that has long exited could look alive for as long
    /// as another child runs (a test once waited 60 s for a curl that had finished).
    public var exitStatus: Int32? {
        let pid = processIdentifier
        guard pid > 0 else { return nil }
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result == 0 && info._sifields._sigchld.si_pid == pid { return info._sifields._sigchld.si_status }
        // Reaped by Foundation already (ECHILD): its figures are final once it says so.
        if result == -1 && errno == ECHILD && !isRunning { return terminationStatus }
        return nil
    }

    /// Whether the child has not exited yet (see `exitStatus`).
    public var isAlive: Bool { exitStatus == nil }

    /// Blocks until the child has exited, or `timeout` seconds; returns its status. For `defer` blocks after a
    /// SIGKILL, where the exit is a matter of milliseconds.
    @discardableResult
    public func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = exitStatus { return status }
            usleep(10_000)
        }
        return exitStatus
    }
}

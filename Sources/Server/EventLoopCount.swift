import Foundation
import NIOCore

/// How many event loops the server runs: one per CPU it may run on.
///
/// NIO sizes its shared group from the machine's cores (and cgroup quota), not from the affinity mask, so a server
/// confined with `taskset` or a cpuset would run more loops than CPUs: they only take turns, and each wakes up for
/// fewer connections' bytes.
public enum EventLoopCount {
    /// Sizes NIO's shared event loop group; call once, before anything uses it. `NIO_SINGLETON_GROUP_LOOP_COUNT`
    /// in the environment wins, as NIO documents. Returns the count.
    public static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] != nil { return NIOSingletons.groupLoopCountSuggestion }
        let count = max(1, min(System.coreCount, ProcessFigures.allowedCPUs() ?? System.coreCount))
        NIOSingletons.groupLoopCountSuggestion = count
        return count
    }
}

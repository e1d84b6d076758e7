import NIOCore

/// How many event loops the server runs: one per CPU it may run on.
///
/// NIO sizes its shared group from the machine's cores (and cgroup quota), not from the affinity mask, so a server
/// confined with `taskset` or a cpuset would run more loops than CPUs: they only take turns, and each wakes up for
/// fewer connections' bytes.
public enum EventLoopCount {
    /// Sizes NIO's shared event loop group; call once, before anything uses it. Returns the count.
    public static func configure() -> Int {
        let count = max(1, min(System.coreCount, ProcessFigures.allowedCPUs() ?? System.coreCount))
        NIOSingletons.groupLoopCountSuggestion = count
        return count
    }
}

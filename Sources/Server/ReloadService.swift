import ServiceLifecycle
import UnixSignals

/// Calls `reload` on each of `signals` (SIGHUP, as nginx and SRS do) until graceful shutdown.
struct ReloadService: Service {
    let signals: [UnixSignal]
    let reload: @Sendable () -> Void

    func run() async throws {
        // A service that returns ends the whole group: without signals, wait for shutdown like the others.
        guard !signals.isEmpty else { return try await gracefulShutdown() }
        for await _ in await UnixSignalsSequence(trapping: signals).cancelOnGracefulShutdown() {
            reload()
        }
    }
}

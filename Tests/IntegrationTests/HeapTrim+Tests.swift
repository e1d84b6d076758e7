import Logging
import NIOConcurrencyHelpers
@testable import Server
import ServiceLifecycle
import Testing

/// Freed memory between chunks still in use goes back to the kernel on the trim service's schedule.
@Suite struct HeapTrimTests {
    /// 64 MB in 4 KB blocks, written so their pages are resident, then 15 of every 16 freed: the free runs between
    /// the kept blocks stay mapped (glibc returns only an arena's top by itself) until a trim.
    ///
    /// The heap is the whole test process's: tests running beside this one may allocate from the free runs before a
    /// trim reaches them, or make RSS grow while one runs. So a cycle that releases too little is tried again, up to
    /// three times; without the trim no cycle releases anything, so the test still fails.
    @Test func theServiceGivesFreedPagesBack() async throws {
        var releasedByCycle: [Int] = []
        for _ in 0..<3 {
            let (released, trims) = try await Self.freeAndTrim()
            #expect(trims.allSatisfy { $0.took < .seconds(1) })
            releasedByCycle.append(released)
            // About 56 MB of free runs; the bound leaves room for what other tests take meanwhile.
            if released >= 16 << 20 { break }
        }
        #expect(releasedByCycle.contains { $0 >= 16 << 20 }, "released \(releasedByCycle) bytes in each cycle")
    }

    /// One cycle: the blocks allocated, 15 of 16 freed, then the service run at a 50 ms interval until it has trimmed
    /// twice. The bytes of RSS its trims released, and the trims.
    private static func freeAndTrim() async throws -> (Int, [HeapTrimService.Trim]) {
        let block = 4096
        var blocks = (0..<16_384).map { _ in UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 16) }
        for pointer in blocks { pointer.initializeMemory(as: UInt8.self, repeating: 0xA5, count: block) }
        for (index, pointer) in blocks.enumerated() where index % 16 != 15 { pointer.deallocate() }
        blocks = blocks.enumerated().filter { $0.offset % 16 == 15 }.map(\.element)
        defer { for pointer in blocks { pointer.deallocate() } }

        let trims = NIOLockedValueBox<[HeapTrimService.Trim]>([])
        let service = HeapTrimService(
            interval: .milliseconds(50), logger: Logger(label: "test"), onTrim: { trim in trims.withLockedValue { $0.append(trim) } })
        let task = Task { try await service.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(30)
        while trims.withLockedValue({ $0.count }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }

        let seen = trims.withLockedValue { $0 }
        try #require(seen.count >= 2, "the service trimmed \(seen.count) times in 30 s at a 50 ms interval")
        return (seen.map(\.releasedBytes).reduce(0, +), seen)
    }

    /// A server's SIGINT is a graceful shutdown: the service returns at once instead of waiting out its interval.
    @Test(.timeLimit(.minutes(1))) func aGracefulShutdownDoesNotWaitOutTheInterval() async throws {
        let logger = Logger(label: "test")
        let group = ServiceGroup(configuration: .init(services: [HeapTrimService(interval: .seconds(3600), logger: logger)], logger: logger))
        let started = ContinuousClock.now
        async let run: Void = group.run()
        try await Task.sleep(for: .milliseconds(200))
        await group.triggerGracefulShutdown()
        try await run
        #expect(ContinuousClock.now - started < .seconds(30), "the group took \(ContinuousClock.now - started) to shut down")
    }
}

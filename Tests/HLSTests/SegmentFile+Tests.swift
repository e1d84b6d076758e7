#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import Testing

@testable import HLS

@Suite struct SegmentFileTests {
    /// Descriptors of this process open on the memfd called `name`, from /proc/self/fd.
    func openDescriptors(named name: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == "/memfd:\(name) (deleted)"
        }.count
    }

    func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed }
    }

    @Test func whatIsWrittenInRunsReadsBackWholeAndInRanges() throws {
        let writer = try SegmentFile.Writer(name: "test-runs")
        let first = bytes(100_000, seed: 1)
        let second = bytes(70_001, seed: 2)
        try first.withUnsafeBytes { try writer.append($0) }
        try second.withUnsafeBytes { try writer.append($0) }
        #expect(writer.size == 170_001)
        let file = SegmentFile(writer)
        #expect(file.size == 170_001)
        #expect(Array(try file.read().readableBytesView) == first + second)
        #expect(Array(try file.read(99_990..<100_010).readableBytesView) == Array(first[99_990...]) + Array(second[..<10]))
        #expect(try file.read(5..<5).readableBytes == 0)
    }

    @Test func theMemoryGoesWithTheLastHolder() throws {
        let name = "test-holder-\(UInt64.random(in: 0...UInt64.max))"
        var file: SegmentFile? = try SegmentFile(name: name, bytes: ByteBuffer(bytes: bytes(4096, seed: 3)))
        #expect(try openDescriptors(named: name) == 1)
        // A write in flight holds a handle of its own: it still reads the bytes after the segment is dropped.
        let handle = try file!.openHandle()
        #expect(try openDescriptors(named: name) == 2)
        file = nil
        #expect(try openDescriptors(named: name) == 1)
        var read = [UInt8](repeating: 0, count: 4096)
        let count = try handle.withUnsafeFileDescriptor { fd in read.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4096, 0) } }
        #expect(count == 4096 && read == bytes(4096, seed: 3))
        try handle.close()
        #expect(try openDescriptors(named: name) == 0)
    }

    @Test func aWriterDroppedUnfinishedClosesItsFile() throws {
        let name = "test-dropped-\(UInt64.random(in: 0...UInt64.max))"
        var writer: SegmentFile.Writer? = try SegmentFile.Writer(name: name)
        try [0x47].withUnsafeBytes { try writer!.append($0) }
        #expect(try openDescriptors(named: name) == 1)
        writer = nil
        #expect(try openDescriptors(named: name) == 0)
    }

    @Test func aFileLetGoGoesBackToItsPoolAndIsWrittenOverFromTheStart() throws {
        let first = "test-pool-a-\(UInt64.random(in: 0...UInt64.max))"
        let second = "test-pool-b-\(UInt64.random(in: 0...UInt64.max))"
        let pool = SegmentFile.Pool(capacity: 2)
        withExtendedLifetime(try SegmentFile(pool: pool, name: first, bytes: bytes(10_000, seed: 4))) { file in
            #expect(file.size == 10_000)
            #expect(pool.spareCount == 0, "held: not spare")
        }
        #expect(pool.spareCount == 1)
        #expect(try openDescriptors(named: first) == 1, "kept open in the pool")

        // The next segment is written into the same file: shorter, and only its own bytes are read back.
        let reused = try SegmentFile(pool: pool, name: second, bytes: bytes(3_000, seed: 5))
        #expect(pool.spareCount == 0)
        #expect(try openDescriptors(named: second) == 0, "no new file was made")
        #expect(reused.size == 3_000)
        #expect(Array(try reused.read().readableBytesView) == bytes(3_000, seed: 5))
        // A write in flight reads the segment's range, not the longer file's.
        let handle = try reused.openHandle()
        var read = [UInt8](repeating: 0, count: 3_000)
        let count = try handle.withUnsafeFileDescriptor { fd in read.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 3_000, 0) } }
        #expect(count == 3_000 && read == bytes(3_000, seed: 5))
        try handle.close()
    }

    @Test func aFileHeldByAViewOrAPartStaysOutOfThePool() throws {
        let pool = SegmentFile.Pool(capacity: 2)
        let writer = try SegmentFile.Writer(name: "test-pool-view", pool: pool)
        try bytes(5_000, seed: 6).withUnsafeBytes { try writer.append($0) }
        var part: SegmentFile? = writer.view()
        var file: SegmentFile? = SegmentFile(writer)
        file = nil
        #expect(pool.spareCount == 0, "a part of the segment is still served from the file")
        #expect(Array(try part!.read().readableBytesView) == bytes(5_000, seed: 6))
        part = nil
        #expect(pool.spareCount == 1)
        _ = file
    }

    @Test func thePoolKeepsAtMostItsCapacityAndNoOversizedFile() throws {
        let name = "test-pool-bound-\(UInt64.random(in: 0...UInt64.max))"
        var pool: SegmentFile.Pool? = SegmentFile.Pool(capacity: 2, largestKept: 64_000)
        var files: [SegmentFile] = try (0..<3).map { n in try SegmentFile(pool: pool!, name: name, bytes: bytes(1_000, seed: UInt8(n))) }
        #expect(try openDescriptors(named: name) == 3)
        files = []
        #expect(pool!.spareCount == 2)
        #expect(try openDescriptors(named: name) == 2, "the third was closed")

        let big = "test-pool-big-\(UInt64.random(in: 0...UInt64.max))"
        // Both spares are taken, so this one is new; too large to keep, it is closed when let go.
        var held = try (0..<2).map { n in try SegmentFile(pool: pool!, name: name, bytes: bytes(10, seed: UInt8(n))) }
        var large: SegmentFile? = try SegmentFile(pool: pool!, name: big, bytes: bytes(100_000, seed: 7))
        large = nil
        #expect(try openDescriptors(named: big) == 0)
        #expect(pool!.spareCount == 0)
        held = []
        #expect(pool!.spareCount == 2)
        // The pool's spares close with it.
        pool = nil
        #expect(try openDescriptors(named: name) == 0)
        _ = (files, held, large)
    }

    @Test func errorsNameTheCallAndTheReason() {
        #expect(SegmentFileError(operation: "memfd_create", errno: EMFILE).description == "memfd_create: Too many open files")
    }
}

extension SegmentFile {
    /// A finished file of `bytes`, written through `pool`.
    convenience init(pool: SegmentFile.Pool, name: String, bytes: [UInt8]) throws {
        let writer = try SegmentFile.Writer(name: name, pool: pool)
        try bytes.withUnsafeBytes { try writer.append($0) }
        self.init(writer)
    }
}

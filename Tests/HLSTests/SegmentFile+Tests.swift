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

    @Test func errorsNameTheCallAndTheReason() {
        #expect(SegmentFileError(operation: "memfd_create", errno: EMFILE).description == "memfd_create: Too many open files")
    }
}

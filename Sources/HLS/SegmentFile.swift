#if canImport(Glibc)
import Glibc
#endif
internal import CMemFD
public import NIOCore
import NIOConcurrencyHelpers

/// A finished segment's bytes in an anonymous in-memory file (`memfd_create(2)`).
///
/// A file, not a buffer, so that viewers are served with `sendfile(2)`: the kernel hands the same pages to every
/// socket, with no copy through this process (measured: segment delivery in `BENCHMARKS.md`). Its pages belong
/// to the kernel's shared memory, like nginx-rtmp's segments on tmpfs, not to the heap. When the last holder
/// lets go, the file goes back to the `Pool` it came from (if any, and if it has room) or is closed.
public final class SegmentFile: Sendable {
    /// Bytes of the segment; a file taken from a pool may be longer, and bytes past `size` are not the segment's.
    public let size: Int
    private let memory: Memory

    fileprivate init(memory: Memory, size: Int) {
        self.memory = memory
        self.size = size
    }

    /// A file holding `bytes`.
    public convenience init(name: String, bytes: ByteBuffer) throws(SegmentFileError) {
        let writer = try Writer(name: name)
        try bytes.withUnsafeReadableBytes { raw throws(SegmentFileError) in try writer.append(raw) }
        self.init(writer)
    }

    /// The file `writer` wrote; it takes no more bytes afterwards.
    public convenience init(_ writer: Writer) {
        let (memory, size) = writer.hand()
        self.init(memory: memory, size: size)
    }

    /// Bytes `range` (all of them by default), read into memory: for readers that cannot take a file.
    public func read(_ range: Range<Int>? = nil) throws(SegmentFileError) -> ByteBuffer {
        let range = range ?? 0..<size
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "range \(range) outside a file of \(size) bytes")
        var buffer = ByteBufferAllocator().buffer(capacity: range.count)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: range.upperBound - offset) { target in
                pread(memory.descriptor, target.baseAddress, range.upperBound - offset, off_t(offset))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SegmentFileError(operation: "pread", errno: errno)
            }
            guard count > 0 else { throw SegmentFileError(operation: "pread", errno: EIO) }
            offset += count
        }
        return buffer
    }

    /// A handle of its own on the file, for one `FileRegion` write. NIO lets only one thread use a handle at a
    /// time, and viewers on several event loops read the same segment, so each write gets its own descriptor
    /// (`dup(2)`); the caller closes it once the write is done, and keeps this `SegmentFile` until then: a file
    /// back in its pool is written over.
    public func openHandle() throws(SegmentFileError) -> NIOFileHandle {
        let copy = dup(memory.descriptor)
        guard copy >= 0 else { throw SegmentFileError(operation: "dup", errno: errno) }
        return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: copy)
    }
}

extension SegmentFile {
    /// One memory file, shared by a writer, the finished file and the views of its parts; back to its pool, or
    /// closed, with the last of them.
    fileprivate final class Memory: Sendable {
        let descriptor: CInt
        let pool: Pool?

        init(descriptor: CInt, pool: Pool?) {
            self.descriptor = descriptor
            self.pool = pool
        }

        deinit {
            if pool?.giveBack(descriptor) != true { close(descriptor) }
        }
    }

    /// Files of one stream's finished segments, kept for its next ones once no one holds them.
    ///
    /// A new file's pages are allocated by the kernel as the segment is written and freed when it is closed: one
    /// page per 4 KB, every segment (measured: about 4 % of a stream's CPU, `BENCHMARKS.md`). A segment leaves the
    /// window as a new one starts, so one or two spare files are enough to write every segment into pages that
    /// already exist. Files are written over from the start and never shortened: each keeps the size of the
    /// largest segment it held. A reused file keeps the name it was made with (in `/proc/<pid>/fd`).
    ///
    /// Taken from on the stream's loop; given back on whichever thread let go of a file last, hence the lock.
    public final class Pool: Sendable {
        /// Spare files kept at most.
        public let capacity: Int
        /// A file longer than this is closed rather than kept (bytes): an outlier segment does not stay resident.
        public let largestKept: Int
        private let spare = NIOLockedValueBox<[CInt]>([])

        public init(capacity: Int = 2, largestKept: Int = 16 << 20) {
            self.capacity = capacity
            self.largestKept = largestKept
        }

        deinit {
            for descriptor in spare.withLockedValue({ $0 }) { close(descriptor) }
        }

        /// Files waiting to be written again.
        public var spareCount: Int { spare.withLockedValue { $0.count } }

        fileprivate func take() -> CInt? {
            spare.withLockedValue { $0.popLast() }
        }

        /// True if the pool kept the file; false if the caller must close it.
        fileprivate func giveBack(_ descriptor: CInt) -> Bool {
            var status = stat()
            guard fstat(descriptor, &status) == 0, Int(status.st_size) <= largestKept else { return false }
            return spare.withLockedValue { spare in
                guard spare.count < capacity else { return false }
                spare.append(descriptor)
                return true
            }
        }
    }

    /// Writes a segment's bytes as the muxer produces them; `SegmentFile(_:)` then takes the finished file.
    /// Used by one thread at a time: the remuxer's.
    public final class Writer {
        private var memory: Memory?
        /// Bytes written so far.
        public private(set) var size = 0

        /// A spare file of `pool` if it has one, else a new file; `name` shows in `/proc/<pid>/fd` as
        /// `memfd:<name>` (a reused file keeps its first name). The file goes back to `pool` when the last
        /// holder lets go.
        public init(name: String, pool: Pool? = nil) throws(SegmentFileError) {
            if let descriptor = pool?.take() {
                memory = Memory(descriptor: descriptor, pool: pool)
                return
            }
            let descriptor = cuecast_memfd_create(name)
            guard descriptor >= 0 else { throw SegmentFileError(operation: "memfd_create", errno: errno) }
            memory = Memory(descriptor: descriptor, pool: pool)
        }

        public func append(_ bytes: UnsafeRawBufferPointer) throws(SegmentFileError) {
            guard let descriptor = memory?.descriptor else { preconditionFailure("writing to a segment file already handed over") }
            var rest = bytes
            while let base = rest.baseAddress, !rest.isEmpty {
                // At the offset, not the file's end: a file from the pool is written over from its start.
                let written = pwrite(descriptor, base, rest.count, off_t(size))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SegmentFileError(operation: "write", errno: errno)
                }
                size += written
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }

        /// The bytes written so far, as a file of their own (on the same memory): a part of
        /// a segment still being written is served from it. Bytes below `size` never change, so the view is
        /// as final as a finished file.
        public func view() -> SegmentFile {
            guard let memory else { preconditionFailure("a view of a segment file already handed over") }
            return SegmentFile(memory: memory, size: size)
        }

        fileprivate func hand() -> (Memory, Int) {
            guard let memory else { preconditionFailure("a segment file handed over twice") }
            defer { self.memory = nil }
            return (memory, size)
        }
    }
}

/// A system call on a segment file failed; the description gives the call and the system's words for `errno`.
public struct SegmentFileError: Error, CustomStringConvertible {
    public let operation: String
    public let errno: CInt

    public init(operation: String, errno: CInt) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

#if canImport(Glibc)
import Glibc
#endif
internal import CMemFD
public import NIOCore

/// A finished segment's bytes in an anonymous in-memory file (`memfd_create(2)`).
///
/// A file, not a buffer, so that viewers are served with `sendfile(2)`: the kernel hands the same pages to every
/// socket, with no copy through this process (measured: segment delivery in `BENCHMARKS.md`). Its pages belong
/// to the kernel's shared memory, like nginx-rtmp's segments on tmpfs, not to the heap. The descriptor is
/// closed, and the memory freed, when the last holder lets go.
public final class SegmentFile: Sendable {
    public let size: Int
    private let descriptor: CInt

    fileprivate init(descriptor: CInt, size: Int) {
        self.descriptor = descriptor
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
        let (descriptor, size) = writer.hand()
        self.init(descriptor: descriptor, size: size)
    }

    deinit {
        close(descriptor)
    }

    /// Bytes `range` (all of them by default), read into memory: for readers that cannot take a file.
    public func read(_ range: Range<Int>? = nil) throws(SegmentFileError) -> ByteBuffer {
        let range = range ?? 0..<size
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "range \(range) outside a file of \(size) bytes")
        var buffer = ByteBufferAllocator().buffer(capacity: range.count)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: range.upperBound - offset) { target in
                pread(descriptor, target.baseAddress, range.upperBound - offset, off_t(offset))
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
    /// (`dup(2)`); the caller closes it once the write is done.
    public func openHandle() throws(SegmentFileError) -> NIOFileHandle {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw SegmentFileError(operation: "dup", errno: errno) }
        return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: copy)
    }
}

extension SegmentFile {
    /// Writes a segment's bytes as the muxer produces them; `SegmentFile(_:)` then takes the finished file.
    /// Used by one thread at a time: the remuxer's.
    public final class Writer {
        private var descriptor: CInt
        /// Bytes written so far.
        public private(set) var size = 0

        /// `name` shows in `/proc/<pid>/fd` as `memfd:<name>`.
        public init(name: String) throws(SegmentFileError) {
            descriptor = cuecast_memfd_create(name)
            guard descriptor >= 0 else { throw SegmentFileError(operation: "memfd_create", errno: errno) }
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
        }

        public func append(_ bytes: UnsafeRawBufferPointer) throws(SegmentFileError) {
            precondition(descriptor >= 0, "writing to a segment file already handed over")
            var rest = bytes
            while let base = rest.baseAddress, !rest.isEmpty {
                let written = write(descriptor, base, rest.count)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SegmentFileError(operation: "write", errno: errno)
                }
                size += written
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }

        /// The bytes written so far, as a file of their own (a second descriptor on the same memory): a part of
        /// a segment still being written is served from it. Bytes below `size` never change, so the view is
        /// as final as a finished file.
        public func view() throws(SegmentFileError) -> SegmentFile {
            precondition(descriptor >= 0, "a view of a segment file already handed over")
            let copy = dup(descriptor)
            guard copy >= 0 else { throw SegmentFileError(operation: "dup", errno: errno) }
            return SegmentFile(descriptor: copy, size: size)
        }

        fileprivate func hand() -> (CInt, Int) {
            precondition(descriptor >= 0, "a segment file handed over twice")
            defer { descriptor = -1 }
            return (descriptor, size)
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

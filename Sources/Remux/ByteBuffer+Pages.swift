#if canImport(Glibc)
import Glibc
#endif
import NIOCore

extension ByteBuffer {
    /// Returns to the kernel the whole memory pages after the written bytes. Segment buffers are reused, and
    /// one that once held a larger segment would otherwise keep those pages resident for nothing. Only for a
    /// buffer nothing else shares (otherwise this would copy it first).
    mutating func releaseUnusedPages() {
        #if canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        withUnsafeMutableWritableBytes { tail in
            guard let base = tail.baseAddress else { return }
            let start = (Int(bitPattern: base) + page - 1) / page * page
            let end = (Int(bitPattern: base) + tail.count) / page * page
            guard end > start, let first = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(first, end - start, MADV_DONTNEED)
        }
        #endif
    }
}

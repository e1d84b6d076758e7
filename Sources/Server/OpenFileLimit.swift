#if canImport(Glibc)
import Glibc
#endif

/// The limit on open files, raised as far as the system allows.
///
/// Every HLS segment the server holds is an open file (see `SegmentFile`): about 16 per live stream for the TS
/// rendition and as many again for the low-latency one, plus one per part of the segment it is writing, on top of
/// one per connection. The usual soft limit of 1024 would stop a server at about 60 streams, while the hard
/// limit is nearly always far higher; nginx (`worker_rlimit_nofile`) and Go programs raise it the same way.
public enum OpenFileLimit {
    /// Files held per live stream: segments listed and retained, the one being written, and slack; with the
    /// low-latency rendition, its segments, its init segment and the parts of the segment being written too.
    public static func filesPerStream(lowLatency: Bool) -> Int { lowLatency ? 42 : 16 }

    /// Raises the soft limit to the hard one. Returns the limit now in force, nil if it cannot be read.
    @discardableResult
    public static func raise() -> Int? {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
        #else
        return nil
        #endif
    }
}

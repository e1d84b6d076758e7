#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The database could not be opened or migrated at start. Its description names the file and, where the system
/// can tell, why: SQLite's own "unable to open database file" says neither.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let path: String
    public let directory: String
    public let underlying: any Error

    public var description: String {
        "cannot open the database \(path): \(cause); CueCast needs a data directory it can write (--data-dir, CUECAST_DATA_DIR)"
    }

    /// Why: a cause found by `unwritable`, SQLite's reason, or the error as it is.
    var cause: String {
        if let unwritable = underlying as? Unwritable { return unwritable.description }
        if StorageFailure.isStorageError(underlying) { return StorageFailure.describe(underlying) }
        return "\(underlying)"
    }

    /// The data directory or the database file cannot be written.
    struct Unwritable: Error, CustomStringConvertible {
        var description: String
    }

    /// Why `directory` (or `file`, when it exists) cannot be written, or nil when it can.
    static func unwritable(directory: String, file: String) -> Unwritable? {
        for (path, what) in [(directory, "the data directory"), (file, "the database file")] where access(path, F_OK) == 0 {
            guard access(path, W_OK) != 0 else { continue }
            switch errno {
            case EROFS: return Unwritable(description: "\(what) is on a read-only file system")
            case EACCES, EPERM: return Unwritable(description: "this user may not write to \(what)")
            default: return Unwritable(description: "\(what) cannot be written (\(String(cString: strerror(errno))))")
            }
        }
        return nil
    }
}

import GRDB

/// Why the database refused a write, in words an API answer can carry: the causes an operator can act on
/// (busy, full, read-only, failing disk), so a 503 says which one it was.
public enum StorageFailure {
    /// Whether `error` came from the database (and so is the server's trouble, not the request's).
    public static func isStorageError(_ error: any Error) -> Bool { error is DatabaseError }

    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "storage error: \(error)" }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "the database is busy (locked by another writer for more than 5 s)"
        case .SQLITE_FULL: return "the disk holding the database is full"
        case .SQLITE_READONLY: return "the database is read-only"
        case .SQLITE_IOERR, .SQLITE_CANTOPEN: return "the disk holding the database failed a read or write"
        default: return "the database failed: \(error.message ?? "\(error.resultCode)")"
        }
    }
}

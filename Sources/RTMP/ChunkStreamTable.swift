/// Per-chunk-stream values of a `ChunkDecoder`, read and written for every chunk.
///
/// IDs 2–63 (the one-byte basic header, RTMP 1.0 §5.3.1.1, which encoders use for every stream they send) are
/// slots of an array; the rest, which a peer may use but none seen does, are in a dictionary. A dictionary for all
/// of them hashed the ID several times a chunk (about 1 % of a pushed stream's CPU samples, `BENCHMARKS.md`).
struct ChunkStreamTable<Value> {
    private static var directIDs: UInt32 { 64 }
    private var direct = [Value?](repeating: nil, count: Int(Self.directIDs))
    private var others: [UInt32: Value] = [:]
    /// Chunk streams with a value.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    subscript(id: UInt32) -> Value? {
        get { id < Self.directIDs ? direct[Int(id)] : others[id] }
        set {
            let had: Bool
            if id < Self.directIDs {
                had = direct[Int(id)] != nil
                direct[Int(id)] = newValue
            } else {
                had = others[id] != nil
                others[id] = newValue
            }
            count += (newValue != nil ? 1 : 0) - (had ? 1 : 0)
        }
    }

    /// Takes the value out, leaving the table without a reference to it (so a buffer taken out is uniquely held).
    mutating func removeValue(forKey id: UInt32) -> Value? {
        let value: Value?
        if id < Self.directIDs {
            value = direct[Int(id)].take()
        } else {
            value = others.removeValue(forKey: id)
        }
        if value != nil { count -= 1 }
        return value
    }
}

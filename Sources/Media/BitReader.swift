/// Reads bits MSB first, with Exp-Golomb codes, from an H.264/HEVC RBSP.
struct BitReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    enum Failure: Error { case endOfData, valueTooLarge }

    mutating func bit() throws(Failure) -> UInt32 {
        guard position < bytes.count * 8 else { throw .endOfData }
        let value = (bytes[position >> 3] >> (7 - UInt8(position & 7))) & 1
        position += 1
        return UInt32(value)
    }

    mutating func bits(_ count: Int) throws(Failure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count { value = value << 1 | (try bit()) }
        return value
    }

    mutating func flag() throws(Failure) -> Bool { try bit() == 1 }

    /// Unsigned Exp-Golomb, ue(v).
    mutating func ue() throws(Failure) -> UInt32 {
        var zeros = 0
        while try bit() == 0 {
            zeros += 1
            guard zeros < 32 else { throw .valueTooLarge }
        }
        return (1 << zeros) - 1 + (try bits(zeros))
    }

    /// Signed Exp-Golomb, se(v).
    mutating func se() throws(Failure) -> Int32 {
        let k = try ue()
        return k & 1 == 1 ? Int32((k + 1) / 2) : -Int32(k / 2)
    }

    /// Removes emulation-prevention bytes (00 00 03 → 00 00).
    static func rbsp(_ nal: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(nal.count)
        var zeros = 0
        for byte in nal {
            if zeros >= 2 && byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            out.append(byte)
        }
        return out
    }
}

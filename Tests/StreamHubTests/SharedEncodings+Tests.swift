import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import StreamHub

@Suite struct SharedEncodingsTests {
    /// Each format is encoded once, by its first reader; later readers of that format get the same bytes, and a
    /// second and third format are kept beside the first.
    @Test func eachFormatIsEncodedOnceAndKept() {
        let shared = SharedEncodings()
        var calls: [Int] = []
        func bytes(_ key: Int) -> ByteBuffer? {
            shared.bytes(for: key) {
                calls.append(key)
                return ByteBuffer(bytes: [UInt8(truncatingIfNeeded: key), UInt8(calls.count)])
            }
        }
        #expect(bytes(4096) == ByteBuffer(bytes: [0x00, 1]))
        #expect(bytes(4096) == ByteBuffer(bytes: [0x00, 1]))
        #expect(bytes(-1) == ByteBuffer(bytes: [0xFF, 2]))
        #expect(bytes(128) == ByteBuffer(bytes: [0x80, 3]))
        #expect(bytes(-1) == ByteBuffer(bytes: [0xFF, 2]))
        #expect(bytes(128) == ByteBuffer(bytes: [0x80, 3]))
        #expect(bytes(4096) == ByteBuffer(bytes: [0x00, 1]))
        #expect(calls == [4096, -1, 128])
    }

    /// An event with no form in a format (`encode` says nil) caches nothing: the next reader asks again, and a
    /// later success is kept.
    @Test func noFormIsNotCached() {
        let shared = SharedEncodings()
        var calls = 0
        #expect(shared.bytes(for: 7) { calls += 1; return nil } == nil)
        #expect(shared.bytes(for: 7) { calls += 1; return nil } == nil)
        #expect(shared.bytes(for: 7) { calls += 1; return ByteBuffer(bytes: [1]) } == ByteBuffer(bytes: [1]))
        #expect(shared.bytes(for: 7) { calls += 1; return ByteBuffer(bytes: [2]) } == ByteBuffer(bytes: [1]))
        #expect(calls == 3)
    }

    /// Readers on several threads at once: one encoding per format, and every reader of a format gets it.
    @Test func readersOnManyThreadsShareOneEncoding() async {
        let shared = SharedEncodings()
        let encoded = NIOLockedValueBox<[Int: Int]>([:])
        let results = await withTaskGroup(of: (Int, ByteBuffer?).self) { group in
            for reader in 0..<64 {
                let key = reader % 3
                group.addTask {
                    (key, shared.bytes(for: key) {
                        encoded.withLockedValue { $0[key, default: 0] += 1 }
                        return ByteBuffer(bytes: [UInt8(key), UInt8(reader)])
                    })
                }
            }
            var all: [(Int, ByteBuffer?)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(encoded.withLockedValue { $0 } == [0: 1, 1: 1, 2: 1])
        for key in 0..<3 {
            let seen = Set(results.filter { $0.0 == key }.compactMap { $0.1 })
            #expect(seen.count == 1)
            #expect(seen.first?.getInteger(at: 0, as: UInt8.self) == UInt8(key))
        }
    }
}

import FLV
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import RTMP

@Suite struct ChunkDecoderTests {
    func decodeAll(_ input: ByteBuffer, limits: ChunkLimits = ChunkLimits()) throws -> [RTMPMessageValue] {
        var decoder = ChunkDecoder(limits: limits)
        var buffer = input
        var out: [RTMPMessageValue] = []
        while let m = try decoder.decode(buffer: &buffer) {
            out.append(.init(csid: m.chunkStreamID, timestamp: m.timestamp, type: m.typeID, stream: m.messageStreamID, body: Array(m.payload.readableBytesView)))
        }
        #expect(buffer.readableBytes == 0, "all input consumed")
        return out
    }

    /// Feeds one byte at a time: every partial chunk must leave the buffer untouched until it completes.
    func decodeByteByByte(_ input: ByteBuffer) throws -> [RTMPMessageValue] {
        var decoder = ChunkDecoder()
        var pending = ByteBuffer()
        var out: [RTMPMessageValue] = []
        for byte in input.readableBytesView {
            pending.writeInteger(byte)
            while let m = try decoder.decode(buffer: &pending) {
                out.append(.init(csid: m.chunkStreamID, timestamp: m.timestamp, type: m.typeID, stream: m.messageStreamID, body: Array(m.payload.readableBytesView)))
            }
        }
        return out
    }

    @Test func everyHeaderType() throws {
        var c = ChunkBytes()
        c.type0(csid: 4, timestamp: 1000, length: 3, type: 9, stream: 1, body: [1, 2, 3])
        c.type1(csid: 4, delta: 33, length: 2, type: 8, body: [4, 5])
        c.type2(csid: 4, delta: 40, body: [6, 7])
        c.type3(csid: 4, body: [8, 9])  // new message: same length, type and delta
        let expected = [
            message(csid: 4, timestamp: 1000, type: 9, body: [1, 2, 3]),
            message(csid: 4, timestamp: 1033, type: 8, body: [4, 5]),
            message(csid: 4, timestamp: 1073, type: 8, body: [6, 7]),
            message(csid: 4, timestamp: 1113, type: 8, body: [8, 9]),
        ]
        #expect(try decodeAll(c.buffer) == expected)
        #expect(try decodeByteByByte(c.buffer) == expected)
    }

    @Test func basicHeaderForms() throws {
        var c = ChunkBytes()
        for csid: UInt32 in [2, 63, 64, 319, 320, 65599] {
            c.type0(csid: csid, timestamp: 0, length: 1, type: 18, stream: 0, body: [UInt8(csid & 0xFF)])
        }
        #expect(try decodeAll(c.buffer).map(\.csid) == [2, 63, 64, 319, 320, 65599])
    }

    /// Chunk streams 2–63 (one-byte basic header) and the long forms are kept apart (`ChunkStreamTable`): both kinds,
    /// and one of each interleaved.
    @Test(arguments: zip([UInt32(6), 320, 6], [UInt32(4), 63, 65599]))
    func messageSpanningChunksAndInterleavedStreams(videoCSID: UInt32, audioCSID: UInt32) throws {
        let video = (0..<300).map { UInt8($0 & 0xFF) }
        let audio: [UInt8] = Array(repeating: 0xAA, count: 200)
        var c = ChunkBytes()
        c.type0(csid: videoCSID, timestamp: 10, length: 300, type: 9, stream: 1, body: Array(video[0..<128]))
        c.type0(csid: audioCSID, timestamp: 11, length: 200, type: 8, stream: 1, body: Array(audio[0..<128]))
        c.type3(csid: videoCSID, body: Array(video[128..<256]))
        c.type3(csid: audioCSID, body: Array(audio[128..<200]))
        c.type3(csid: videoCSID, body: Array(video[256..<300]))
        c.type1(csid: videoCSID, delta: 40, length: 1, type: 9, body: [0xEE])
        let expected = [
            message(csid: audioCSID, timestamp: 11, type: 8, body: audio),
            message(csid: videoCSID, timestamp: 10, type: 9, body: video),
            message(csid: videoCSID, timestamp: 50, type: 9, body: [0xEE]),
        ]
        #expect(try decodeAll(c.buffer) == expected)
        #expect(try decodeByteByByte(c.buffer) == expected)
    }

    @Test func extendedTimestampsRepeatOnContinuations() throws {
        let body = Array(repeating: UInt8(7), count: 200)
        var c = ChunkBytes()
        c.type0(csid: 6, timestamp: 0x0100_0000, length: 200, type: 9, stream: 1, body: Array(body[0..<128]))
        c.type3(csid: 6, extendedTimestamp: 0x0100_0000, body: Array(body[128...]))
        // A delta that needs the extended field, then a type-3 new message that repeats it.
        c.type1(csid: 6, delta: 0x0100_0000, length: 1, type: 9, body: [1])
        c.type3(csid: 6, extendedTimestamp: 0x0100_0000, body: [2])
        let expected = [
            message(csid: 6, timestamp: 0x0100_0000, type: 9, body: body),
            message(csid: 6, timestamp: 0x0200_0000, type: 9, body: [1]),
            message(csid: 6, timestamp: 0x0300_0000, type: 9, body: [2]),
        ]
        #expect(try decodeAll(c.buffer) == expected)
        #expect(try decodeByteByByte(c.buffer) == expected)
    }

    /// librtmp-era encoders and OBS before 2024 leave the extended timestamp out of continuation chunks; FFmpeg
    /// writes it. Both, mixed on one connection and across the 0xFFFFFF crossing, read the same messages.
    @Test func extendedTimestampsLeftOutOfContinuations() throws {
        let body = (0..<300).map { UInt8($0 % 253) }
        for repeated in [false, true] {
            var c = ChunkBytes()
            // Just below the crossing: no extended field at all.
            c.type0(csid: 6, timestamp: 0xFF_FFF0, length: 300, type: 9, stream: 1, body: Array(body[0..<128]))
            c.type3(csid: 6, body: Array(body[128..<256]))
            c.type3(csid: 6, body: Array(body[256...]))
            // Past it: an absolute extended timestamp, then a delta that needs one.
            c.type0(csid: 6, timestamp: 0x0100_0010, length: 300, type: 9, stream: 1, body: Array(body[0..<128]))
            c.type3(csid: 6, extendedTimestamp: repeated ? 0x0100_0010 : nil, body: Array(body[128..<256]))
            c.type3(csid: 6, extendedTimestamp: repeated ? 0x0100_0010 : nil, body: Array(body[256...]))
            c.type1(csid: 6, delta: 0xFF_FFFF, length: 200, type: 9, body: Array(body[0..<128]))
            c.type3(csid: 6, extendedTimestamp: repeated ? 0xFF_FFFF : nil, body: Array(body[128..<200]))
            // An audio message interleaved on another chunk stream, ext omitted too.
            c.type0(csid: 4, timestamp: 0x0100_0020, length: 140, type: 8, stream: 1, body: Array(body[0..<128]))
            c.type3(csid: 4, extendedTimestamp: repeated ? 0x0100_0020 : nil, body: Array(body[128..<140]))
            let expected = [
                message(csid: 6, timestamp: 0xFF_FFF0, type: 9, body: body),
                message(csid: 6, timestamp: 0x0100_0010, type: 9, body: body),
                message(csid: 6, timestamp: 0x0200_000F, type: 9, body: Array(body[0..<200])),
                message(csid: 4, timestamp: 0x0100_0020, type: 8, body: Array(body[0..<140])),
            ]
            #expect(try decodeAll(c.buffer) == expected, "extended timestamp repeated: \(repeated)")
            #expect(try decodeByteByByte(c.buffer) == expected, "extended timestamp repeated: \(repeated)")
        }
    }

    @Test func timestampWrapsAt32Bits() throws {
        var c = ChunkBytes()
        c.type0(csid: 4, timestamp: 0xFFFF_FFF0, length: 1, type: 8, stream: 1, body: [0])
        c.type2(csid: 4, delta: 0x20, body: [1])
        #expect(try decodeAll(c.buffer).map(\.timestamp) == [0xFFFF_FFF0, 0x10])
    }

    @Test func chunkSizeChangeBetweenChunksOfAnotherMessage() throws {
        // Set Chunk Size on csid 2 arrives while a 300-byte video message on csid 6 is half read.
        let video = (0..<300).map { UInt8($0 & 0x7F) }
        var c = ChunkBytes()
        c.type0(csid: 6, timestamp: 0, length: 300, type: 9, stream: 1, body: Array(video[0..<128]))
        c.type0(csid: 2, timestamp: 0, length: 4, type: 1, stream: 0, body: [0, 0, 0x10, 0])
        c.type3(csid: 6, body: Array(video[128...]))  // 172 bytes in one chunk under the new size
        let out = try decodeAll(c.buffer)
        #expect(out == [message(csid: 2, timestamp: 0, type: 1, stream: 0, body: [0, 0, 0x10, 0]), message(csid: 6, timestamp: 0, type: 9, body: video)])
    }

    @Test func largeChunkSizeRoundTripThroughEncoder() throws {
        var encoder = ChunkEncoder()
        var bytes = ByteBuffer()
        let big = ByteBuffer(bytes: (0..<10_000).map { UInt8($0 % 251) })
        encoder.encode(ControlMessage.setChunkSize(4096).message(), into: &bytes)
        encoder.encode(RTMPMessage(chunkStreamID: 6, timestamp: 0x0123_4567, typeID: 9, messageStreamID: 1, payload: big), into: &bytes)
        encoder.encode(RTMPMessage(chunkStreamID: 400, timestamp: 5, typeID: 8, messageStreamID: 1, payload: ByteBuffer(bytes: [1])), into: &bytes)
        let out = try decodeAll(bytes)
        #expect(out.count == 3)
        #expect(out[1] == message(csid: 6, timestamp: 0x0123_4567, type: 9, body: Array(big.readableBytesView)))
        #expect(out[2] == message(csid: 400, timestamp: 5, type: 8, body: [1]))
        #expect(try decodeByteByByte(bytes) == out)
    }

    /// A message in many chunks is assembled in one buffer, each chunk written after the last: its bytes never
    /// move. (A second reference to the partial message once made every chunk copy the whole message so far:
    /// 20 KB in 128-byte chunks copied 1.6 MB.)
    @Test func aMessageInManyChunksIsAssembledInPlace() throws {
        var encoder = ChunkEncoder()
        var bytes = ByteBuffer()
        let body = ByteBuffer(bytes: (0..<20_000).map { UInt8($0 % 251) })
        encoder.encode(RTMPMessage(chunkStreamID: 6, timestamp: 40, typeID: 9, messageStreamID: 1, payload: body), into: &bytes)
        var decoder = ChunkDecoder()
        var first = bytes.readSlice(length: 12 + 128)!  // type 0 header and the first chunk
        #expect(try decoder.decode(buffer: &first) == nil)
        func address(_ buffer: ByteBuffer) -> UInt { buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        let start = address(try #require(decoder.partials[6]))
        var addresses: Set<UInt> = [start]
        var message: RTMPMessage?
        while message == nil, bytes.readableBytes > 0 {
            var chunk = bytes.readSlice(length: min(129, bytes.readableBytes))!
            message = try decoder.decode(buffer: &chunk)
            #expect(chunk.readableBytes == 0)
            if let partial = decoder.partials[6] { addresses.insert(address(partial)) }
        }
        let payload = try #require(message).payload
        #expect(payload == body)
        addresses.insert(address(payload))
        // A copy per chunk would show more than one address (freed and reused ones alternate).
        #expect(addresses == [start], "written in place, never copied")
        #expect(decoder.partials.isEmpty)
    }

    @Test func chunkStreamTableCountsBothForms() {
        var table = ChunkStreamTable<String>()
        #expect(table.isEmpty)
        table[2] = "a"
        table[63] = "b"
        table[64] = "c"
        table[65599] = "d"
        table[2] = "a2"  // replaced, not added
        #expect(table.count == 4)
        #expect(table[2] == "a2" && table[63] == "b" && table[64] == "c" && table[65599] == "d" && table[3] == nil && table[65] == nil)
        #expect(table.removeValue(forKey: 64) == "c")
        #expect(table.removeValue(forKey: 64) == nil)
        table[2] = nil
        table[3] = nil  // absent: no change
        #expect(table.count == 2)
        #expect(table.removeValue(forKey: 63) == "b")
        table[65599] = nil
        #expect(table.isEmpty)
    }

    @Test func abortDiscardsThePartialMessage() throws {
        var c = ChunkBytes()
        c.type0(csid: 6, timestamp: 0, length: 300, type: 9, stream: 1, body: Array(repeating: 1, count: 128))
        c.type0(csid: 2, timestamp: 0, length: 4, type: 2, stream: 0, body: [0, 0, 0, 6])
        c.type0(csid: 6, timestamp: 40, length: 2, type: 9, stream: 1, body: [9, 9])
        let out = try decodeAll(c.buffer)
        #expect(out.map(\.type) == [2, 9])
        #expect(out[1].body == [9, 9])
    }

    @Test func verifierFromNIOTestUtils() throws {
        var first = ChunkBytes()
        first.type0(csid: 4, timestamp: 1, length: 130, type: 8, stream: 1, body: Array(repeating: 3, count: 128))
        first.type3(csid: 4, body: [3, 3])
        let expected = RTMPMessage(chunkStreamID: 4, timestamp: 1, typeID: 8, messageStreamID: 1, payload: ByteBuffer(bytes: Array(repeating: 3, count: 130)))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(first.buffer, [expected])]) {
            ChunkDecoder()
        }
    }

    // MARK: Limits

    @Test func chunkSizeAboveAConfiguredLimitIsRefused() {
        var c = ChunkBytes()
        c.type0(csid: 2, timestamp: 0, length: 4, type: 1, stream: 0, body: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: RTMPError.chunkSizeTooLarge(requested: 0x7FFF_FFFF, limit: 1 << 20)) {
            try decodeAll(c.buffer, limits: ChunkLimits(maxChunkSize: 1 << 20))
        }
    }

    /// RTMP allows chunk sizes up to 2³¹−1 (the top bit is zero); by default every one of them is accepted and the
    /// message size alone bounds memory.
    @Test func theLargestLegalChunkSizeIsAcceptedAndMessagesStayBounded() throws {
        var c = ChunkBytes()
        c.type0(csid: 2, timestamp: 0, length: 4, type: 1, stream: 0, body: [0x7F, 0xFF, 0xFF, 0xFF])
        c.type0(csid: 6, timestamp: 0, length: 5000, type: 9, stream: 1, body: Array(repeating: 1, count: 5000))
        let out = try decodeAll(c.buffer)
        #expect(out.map(\.body.count) == [4, 5000])
        var big = ChunkBytes()
        big.type0(csid: 2, timestamp: 0, length: 4, type: 1, stream: 0, body: [0x7F, 0xFF, 0xFF, 0xFF])
        big.type0(csid: 6, timestamp: 0, length: 9 << 20, type: 9, stream: 1, body: [])
        #expect(throws: RTMPError.messageTooLarge(length: 9 << 20, limit: 8 << 20)) { try decodeAll(big.buffer) }
    }

    @Test func zeroChunkSizeIsRefused() {
        var c = ChunkBytes()
        c.type0(csid: 2, timestamp: 0, length: 4, type: 1, stream: 0, body: [0, 0, 0, 0])
        #expect(throws: RTMPError.invalidChunkSize(0)) { try decodeAll(c.buffer) }
    }

    @Test func messageAboveLimitIsRefusedFromItsHeader() {
        var c = ChunkBytes()
        // Only the header: the decoder must refuse before waiting for 9 MB.
        c.type0(csid: 6, timestamp: 0, length: 9 << 20, type: 9, stream: 1, body: [])
        #expect(throws: RTMPError.messageTooLarge(length: 9 << 20, limit: 8 << 20)) { try decodeAll(c.buffer) }
    }

    @Test func tooManyChunkStreams() {
        var c = ChunkBytes()
        for csid in UInt32(3)..<UInt32(3 + 65) {
            c.type0(csid: csid, timestamp: 0, length: 200, type: 9, stream: 1, body: Array(repeating: 0, count: 128))
        }
        #expect(throws: RTMPError.tooManyChunkStreams(limit: 64)) { try decodeAll(c.buffer) }
    }

    @Test(arguments: [UInt8(1), 2, 3])
    func continuationWithoutFullHeader(_ format: UInt8) {
        var c = ChunkBytes()
        switch format {
        case 1: c.type1(csid: 7, delta: 1, length: 1, type: 9, body: [0])
        case 2: c.type2(csid: 7, delta: 1, body: [0])
        default: c.type3(csid: 7, body: [0])
        }
        #expect(throws: RTMPError.missingFullHeader(chunkStreamID: 7)) { try decodeAll(c.buffer) }
    }
}

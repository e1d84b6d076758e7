import NIOCore
import Testing

@testable import FLV

@Suite struct AMF0Tests {
    static let samples: [AMF0Value] = [
        .number(0), .number(-1.5), .number(.infinity), .boolean(true), .boolean(false), .string(""), .string("connect"),
        .string("ünïcødé ✓"), .null, .undefined, .reference(7),
        .object([("app", .string("live")), ("tcUrl", .string("rtmp://x/live")), ("fpad", .boolean(false))]),
        .ecmaArray([("width", .number(640)), ("height", .number(360))]), .ecmaArray([]),
        .strictArray([.number(1), .string("two"), .null]), .date(1_700_000_000_000, timeZone: 0),
        .longString(String(repeating: "x", count: 70_000)), .typedObject(className: "Point", [("x", .number(1))]),
        .xmlDocument("<a/>"), .amf3(.integer(-5)), .amf3(.integer(268_435_455)), .amf3(.string("hé")), .amf3(.double(2.5)),
        .amf3(.boolean(true)), .amf3(.null), .amf3(.undefined),
        .object([("nested", .object([("deeper", .strictArray([.object([("k", .string("v"))])]))]))]),
    ]

    @Test(arguments: samples)
    func roundTrip(_ value: AMF0Value) throws {
        var buffer = ByteBuffer()
        buffer.writeAMF0(value)
        let decoded = try AMF0Decoder().decode(&buffer)
        #expect(decoded == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func knownBytes() throws {
        var buffer = ByteBuffer()
        buffer.writeAMF0(.string("connect"))
        buffer.writeAMF0(.number(1))
        buffer.writeAMF0(.object([("app", .string("live"))]))
        let expected: [UInt8] =
            [0x02, 0x00, 0x07] + Array("connect".utf8) + [0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]
            + [0x03, 0x00, 0x03] + Array("app".utf8) + [0x02, 0x00, 0x04] + Array("live".utf8) + [0x00, 0x00, 0x09]
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test func ecmaArrayCountIsOnlyAHint() throws {
        // Encoders write wrong counts; the object-end marker decides.
        var buffer = ByteBuffer(bytes: [0x08, 0, 0, 0, 9, 0x00, 0x01, 0x61, 0x01, 0x01, 0x00, 0x00, 0x09])
        #expect(try AMF0Decoder().decode(&buffer) == .ecmaArray([("a", .boolean(true))]))
    }

    @Test func nestingLimit() throws {
        func nested(_ depth: Int) -> AMF0Value {
            depth == 0 ? .number(1) : .object([("n", nested(depth - 1))])
        }
        var ok = ByteBuffer()
        ok.writeAMF0(nested(32))
        #expect(throws: Never.self) { try AMF0Decoder().decode(&ok) }
        var tooDeep = ByteBuffer()
        tooDeep.writeAMF0(nested(33))
        #expect(throws: FLVError.amfNestingTooDeep(limit: 32)) { try AMF0Decoder().decode(&tooDeep) }
        var deepArrays = ByteBuffer()
        for _ in 0..<40 { deepArrays.writeBytes([0x0A, 0, 0, 0, 1]) }
        deepArrays.writeAMF0(.null)
        #expect(throws: FLVError.amfNestingTooDeep(limit: 32)) { try AMF0Decoder().decode(&deepArrays) }
    }

    @Test func everyTruncationIsReported() throws {
        var full = ByteBuffer()
        full.writeAMF0(.object([("a", .string("b")), ("n", .number(2)), ("arr", .strictArray([.boolean(true)]))]))
        for length in 0..<full.readableBytes {
            var prefix = full.getSlice(at: 0, length: length)!
            #expect(throws: FLVError.amfTruncated) { try AMF0Decoder().decode(&prefix) }
        }
    }

    @Test func hugeStrictArrayCountIsRefusedWithoutAllocating() {
        var buffer = ByteBuffer(bytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05])
        #expect(throws: FLVError.amfTruncated) { try AMF0Decoder().decode(&buffer) }
    }

    @Test(arguments: [UInt8(0x04), 0x0D, 0x0E, 0x13, 0xFF])
    func unknownOrReservedMarkers(_ marker: UInt8) {
        var buffer = ByteBuffer(bytes: [marker, 0, 0, 0, 0])
        #expect(throws: FLVError.self) { try AMF0Decoder().decode(&buffer) }
    }
}

extension AMF0Value: CustomTestStringConvertible {
    public var testDescription: String {
        let text = String(describing: self)
        return text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}

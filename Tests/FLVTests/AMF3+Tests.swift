import NIOCore
import Testing

@testable import FLV

/// AMF3 as Flash/AIR-style publishers write it (AMF3 specification §3), built byte by byte here so the
/// references, traits and markers are exactly what a peer sends, not what CueCast's own encoder writes.
@Suite struct AMF3Tests {
    /// U29 (§1.3.1).
    static func u29(_ value: UInt32) -> [UInt8] {
        switch value {
        case 0..<0x80: [UInt8(value)]
        case 0x80..<0x4000: [UInt8(value >> 7 | 0x80), UInt8(value & 0x7F)]
        case 0x4000..<0x20_0000: [UInt8(value >> 14 | 0x80), UInt8((value >> 7) & 0x7F | 0x80), UInt8(value & 0x7F)]
        default: [UInt8((value >> 22) & 0x7F | 0x80), UInt8((value >> 15) & 0x7F | 0x80), UInt8((value >> 8) & 0x7F | 0x80), UInt8(value & 0xFF)]
        }
    }

    /// An inline UTF-8-vr string.
    static func str(_ s: String) -> [UInt8] { u29(UInt32(s.utf8.count) << 1 | 1) + Array(s.utf8) }
    /// A string reference.
    static func strRef(_ index: UInt32) -> [UInt8] { u29(index << 1) }
    static func double(_ d: Double) -> [UInt8] { withUnsafeBytes(of: d.bitPattern.bigEndian) { Array($0) } }

    func decode(_ bytes: [UInt8]) throws -> AMF3Value {
        var buffer = ByteBuffer(bytes: bytes)
        var decoder = AMF3Decoder()
        let value = try decoder.decode(&buffer)
        #expect(buffer.readableBytes == 0, "every byte read")
        return value
    }

    @Test func scalars() throws {
        #expect(try decode([0x00]) == .undefined)
        #expect(try decode([0x01]) == .null)
        #expect(try decode([0x02]) == .boolean(false))
        #expect(try decode([0x03]) == .boolean(true))
        #expect(try decode([0x04] + Self.u29(0x0FFF_FFFF)) == .integer(268_435_455))
        #expect(try decode([0x04, 0xFF, 0xFF, 0xFF, 0xFF]) == .integer(-1), "29-bit sign extension")
        #expect(try decode([0x05] + Self.double(2.5)) == .double(2.5))
        #expect(try decode([0x06] + Self.str("héllo")) == .string("héllo"))
        #expect(try decode([0x08, 0x01] + Self.double(1_700_000_000_000)) == .date(1_700_000_000_000))
        #expect(try decode([0x0C] + Self.u29(3 << 1 | 1) + [9, 8, 7]) == .byteArray([9, 8, 7]))
        #expect(try decode([0x07] + Self.str("<a/>")) == .xmlDocument("<a/>"))
        #expect(try decode([0x0B] + Self.str("<b/>")) == .xml("<b/>"))
    }

    /// An anonymous dynamic object, as `NetStream.send("@setDataFrame", "onMetaData", {...})` writes it.
    @Test func anonymousDynamicObject() throws {
        let bytes: [UInt8] = [0x0A, 0x0B] + Self.str("") + Self.str("width") + [0x04] + Self.u29(640)
            + Self.str("framerate") + [0x05] + Self.double(29.97) + Self.str("stereo") + [0x03]
            + Self.str("encoder") + [0x06] + Self.str("AS3") + [0x01]
        let value = try decode(bytes)
        #expect(value == .object(className: "", [("width", .integer(640)), ("framerate", .double(29.97)), ("stereo", .boolean(true)), ("encoder", .string("AS3"))]))
        #expect(value.amf0 == .object([("width", .number(640)), ("framerate", .number(29.97)), ("stereo", .boolean(true)), ("encoder", .string("AS3"))]))
    }

    /// Sealed traits, a traits reference for the second object, string references for repeated names and
    /// values, and an object reference: every table the format has.
    @Test func traitsStringAndObjectReferences() throws {
        // Array of 3: Point{x:1,y:2} with inline sealed traits, Point{x:3,y:"x"} by traits reference, then the first
        // Point again by object reference.
        let first: [UInt8] = [0x0A] + Self.u29(2 << 4 | 0b0011) + Self.str("Point") + Self.str("x") + Self.str("y") + [0x04, 1, 0x04, 2]
        // Traits reference 0: header (0 << 2) | 0b01; "x" as a string value is string reference 1.
        let second: [UInt8] = [0x0A] + Self.u29(0 << 2 | 0b01) + [0x04, 3, 0x06] + Self.strRef(1)
        // Object table: 0 = the array, 1 = first Point, 2 = second Point.
        let third: [UInt8] = [0x0A] + Self.u29(1 << 1)
        let bytes: [UInt8] = [0x09] + Self.u29(3 << 1 | 1) + Self.str("") + first + second + third
        let point1 = AMF3Value.object(className: "Point", [("x", .integer(1)), ("y", .integer(2))])
        let point2 = AMF3Value.object(className: "Point", [("x", .integer(3)), ("y", .string("x"))])
        #expect(try decode(bytes) == .array(dense: [point1, point2, point1], associative: []))
    }

    @Test func arraysWithAnAssociativePart() throws {
        let bytes: [UInt8] = [0x09] + Self.u29(2 << 1 | 1) + Self.str("name") + [0x06] + Self.str("shop") + Self.str("")
            + [0x04, 7, 0x06] + Self.strRef(0)
        let value = try decode(bytes)
        #expect(value == .array(dense: [.integer(7), .string("name")], associative: [("name", .string("shop"))]))
        #expect(value.amf0 == .ecmaArray([("0", .number(7)), ("1", .string("name")), ("name", .string("shop"))]))
    }

    @Test func vectorsAndDictionaries() throws {
        #expect(try decode([0x0D] + Self.u29(2 << 1 | 1) + [0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5]) == .vectorInt([-1, 5]))
        #expect(try decode([0x0E] + Self.u29(1 << 1 | 1) + [1, 0xFF, 0xFF, 0xFF, 0xFF]) == .vectorUInt([0xFFFF_FFFF]))
        #expect(try decode([0x0F] + Self.u29(1 << 1 | 1) + [0] + Self.double(0.5)) == .vectorDouble([0.5]))
        #expect(try decode([0x10] + Self.u29(1 << 1 | 1) + [0] + Self.str("") + [0x06] + Self.str("a")) == .vectorObject(typeName: "", [.string("a")]))
        #expect(try decode([0x11] + Self.u29(1 << 1 | 1) + [0, 0x06] + Self.str("k") + [0x03]) == .dictionary([(.string("k"), .boolean(true))]))
    }

    /// Whatever CueCast writes, it reads back.
    @Test(arguments: [
        AMF3Value.object(className: "", [("a", .array(dense: [.integer(1), .null], associative: [("k", .date(5))]))]),
        .object(className: "com.shop.Pin", [("sku", .string("A1")), ("bytes", .byteArray([1, 2]))]),
        .vectorObject(typeName: "Pin", [.xml("<x/>"), .vectorDouble([1.5])]),
    ])
    func roundTrip(_ value: AMF3Value) throws {
        var buffer = ByteBuffer()
        buffer.writeAMF0(.amf3(value))
        #expect(try AMF0Decoder().decode(&buffer) == .amf3(value))
    }

    @Test func whatCannotBeReadIsRefusedPrecisely() throws {
        #expect(throws: FLVError.amfUnsupported("AMF3 externalizable class flex.messaging.io.ArrayCollection")) {
            try decode([0x0A, 0x07] + Self.str("flex.messaging.io.ArrayCollection"))
        }
        // An object whose member refers to the object itself.
        #expect(throws: FLVError.amfUnsupported("AMF3 cyclic object reference")) {
            try decode([0x0A, 0x0B] + Self.str("") + Self.str("self") + [0x0A, 0x00, 0x01])
        }
        #expect(throws: FLVError.amfUnsupported("AMF3 string reference 4 out of range")) { try decode([0x06] + Self.strRef(4)) }
        #expect(throws: FLVError.amfUnsupported("AMF3 traits reference 0 out of range")) { try decode([0x0A, 0x01]) }
        #expect(throws: FLVError.amfTruncated) { try decode([0x09] + Self.u29(1_000_000 << 1 | 1) + [0x01]) }
        #expect(throws: FLVError.amfTruncated) { try decode([0x0D] + Self.u29(1000 << 1 | 1) + [0, 1, 2, 3]) }
        #expect(throws: FLVError.amfUnknownMarker(0x12)) { try decode([0x12]) }
        var deep: [UInt8] = []
        for _ in 0..<40 { deep += [0x09, 0x03, 0x01] }
        deep += [0x01]
        #expect(throws: FLVError.amfNestingTooDeep(limit: 32)) { try decode(deep) }
    }

    /// A few hundred bytes of references to references stand for 2⁴⁰ nodes, or for a nesting a million deep:
    /// both are refused while reading, before anything is expanded.
    @Test func referencesCannotExpandPastTheLimits() throws {
        // Element 0 an empty array; element k an array of two references to element k-1 (object index k).
        var doubling: [UInt8] = [0x09] + Self.u29(40 << 1 | 1) + Self.str("") + [0x09, 0x01, 0x01]
        for k in UInt32(1)..<40 { doubling += [0x09, 0x05, 0x01, 0x09] + Self.u29(k << 1) + [0x09] + Self.u29(k << 1) }
        #expect(throws: FLVError.amfUnsupported("AMF3 value of more than 65536 nodes once references are expanded")) { try decode(doubling) }
        // Element k an array holding one reference to element k-1: each level one deeper.
        var chain: [UInt8] = [0x09] + Self.u29(40 << 1 | 1) + Self.str("") + [0x09, 0x01, 0x01]
        for k in UInt32(1)..<40 { chain += [0x09, 0x03, 0x01, 0x09] + Self.u29(k << 1) }
        #expect(throws: FLVError.amfNestingTooDeep(limit: 32)) { try decode(chain) }
        // Shared references within the limits read as before.
        var shared: [UInt8] = [0x09] + Self.u29(4 << 1 | 1) + Self.str("") + [0x09, 0x01, 0x01]
        for k in UInt32(1)..<4 { shared += [0x09, 0x05, 0x01, 0x09] + Self.u29(k << 1) + [0x09] + Self.u29(k << 1) }
        let value = try decode(shared)
        guard case .array(let dense, _) = value else { throw FLVError.amfTruncated }
        #expect(dense.count == 4)
    }

    /// Behind an AMF0 switch marker at any depth, AMF3 reads as the AMF0 the rest of the server uses.
    @Test func switchedValuesReadAsAMF0() throws {
        var buffer = ByteBuffer()
        buffer.writeAMF0(.string("onMetaData"))
        buffer.writeBytes([0x11, 0x0A, 0x0B] + Self.str("") + Self.str("width") + [0x04] + Self.u29(1280) + [0x01])
        let values = try AMF0Decoder().decodeAll(&buffer).map(\.withoutAMF3)
        #expect(values == [.string("onMetaData"), .object([("width", .number(1280))])])
    }
}

import NIOCore

/// Reads one AMF3 value (AMF3 specification, §3), with the string, object and traits reference tables it needs.
///
/// A decoder's tables cover one value behind AMF0's switch marker, the scope Flash Player gives them there.
/// References are resolved to copies; a reference to an object still being read (a cycle) is refused, as are
/// externalizable classes (their bytes are the class's own). Counts are checked against the bytes left before
/// anything is allocated. Nesting is bounded like AMF0's, and so is the size of the value once references are
/// expanded (`maxNodes`): a few bytes of references to references would otherwise stand for billions of nodes.
/// - Throws: `FLVError.amfTruncated`, `.amfNestingTooDeep`, `.amfUnknownMarker`, `.amfUnsupported`.
public struct AMF3Decoder {
    struct Traits {
        var className: String
        var sealedNames: [String]
        var isDynamic: Bool
    }

    /// A complex value in the reference table: the value, its node count and its height once expanded.
    struct Entry {
        var value: AMF3Value
        var nodes: Int
        var height: Int
    }

    public static let defaultMaxNodes = 65536
    public let maxDepth: Int
    public let maxNodes: Int
    private var strings: [String] = []
    /// Complex values by the index references use; nil while the value is still being read.
    private var objects: [Entry?] = []
    private var traits: [Traits] = []
    /// Nodes of the value so far, references expanded.
    private var nodes = 0
    /// For each complex value being read, the greatest height of a reference found inside it.
    private var heights: [Int] = []

    public init(maxDepth: Int = AMF0Decoder.defaultMaxDepth, maxNodes: Int = AMF3Decoder.defaultMaxNodes) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    public mutating func decode(_ buffer: inout ByteBuffer) throws(FLVError) -> AMF3Value {
        try decode(&buffer, depth: 0)
    }

    private mutating func count(_ added: Int) throws(FLVError) {
        nodes += added
        guard nodes <= maxNodes else { throw .amfUnsupported("AMF3 value of more than \(maxNodes) nodes once references are expanded") }
    }

    private mutating func decode(_ buffer: inout ByteBuffer, depth: Int) throws(FLVError) -> AMF3Value {
        guard depth <= maxDepth else { throw .amfNestingTooDeep(limit: maxDepth) }
        try count(1)
        guard let marker = buffer.readInteger(as: UInt8.self) else { throw .amfTruncated }
        switch marker {
        case 0x00: return .undefined
        case 0x01: return .null
        case 0x02: return .boolean(false)
        case 0x03: return .boolean(true)
        case 0x04:
            let raw = try Self.readU29(&buffer)
            // Sign-extend the 29-bit value.
            return .integer(raw & 0x1000_0000 != 0 ? Int32(bitPattern: raw | 0xE000_0000) : Int32(raw))
        case 0x05: return .double(try Self.readDouble(&buffer))
        case 0x06: return .string(try readString(&buffer))
        case 0x07, 0x0B:
            return try readReferenced(&buffer) { (decoder, buffer, length) throws(FLVError) in
                let text = try Self.readUTF8(&buffer, length: length)
                return marker == 0x07 ? .xmlDocument(text) : .xml(text)
            }
        case 0x08:
            return try readReferenced(&buffer) { (_, buffer, _) throws(FLVError) in .date(try Self.readDouble(&buffer)) }
        case 0x09:
            return try readReferenced(&buffer) { (decoder, buffer, count) throws(FLVError) in
                var associative: [(key: String, value: AMF3Value)] = []
                while true {
                    let key = try decoder.readString(&buffer)
                    if key.isEmpty { break }
                    associative.append((key, try decoder.decode(&buffer, depth: depth + 1)))
                }
                guard count <= buffer.readableBytes else { throw .amfTruncated }
                var dense: [AMF3Value] = []
                dense.reserveCapacity(count)
                for _ in 0..<count { dense.append(try decoder.decode(&buffer, depth: depth + 1)) }
                return .array(dense: dense, associative: associative)
            }
        case 0x0A:
            return try readObject(&buffer, depth: depth)
        case 0x0C:
            return try readReferenced(&buffer) { (_, buffer, length) throws(FLVError) in
                guard let bytes = buffer.readBytes(length: length) else { throw .amfTruncated }
                return .byteArray(bytes)
            }
        case 0x0D, 0x0E, 0x0F:
            return try readReferenced(&buffer) { (_, buffer, count) throws(FLVError) in
                guard buffer.readInteger(as: UInt8.self) != nil else { throw .amfTruncated }  // fixed-length flag
                guard count <= buffer.readableBytes / (marker == 0x0F ? 8 : 4) else { throw .amfTruncated }
                switch marker {
                case 0x0D: return .vectorInt((0..<count).map { _ in buffer.readInteger(as: Int32.self)! })
                case 0x0E: return .vectorUInt((0..<count).map { _ in buffer.readInteger(as: UInt32.self)! })
                default: return .vectorDouble((0..<count).map { _ in Double(bitPattern: buffer.readInteger(as: UInt64.self)!) })
                }
            }
        case 0x10:
            return try readReferenced(&buffer) { (decoder, buffer, count) throws(FLVError) in
                guard buffer.readInteger(as: UInt8.self) != nil else { throw .amfTruncated }
                let typeName = try decoder.readString(&buffer)
                guard count <= buffer.readableBytes else { throw .amfTruncated }
                var items: [AMF3Value] = []
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(try decoder.decode(&buffer, depth: depth + 1)) }
                return .vectorObject(typeName: typeName, items)
            }
        case 0x11:
            return try readReferenced(&buffer) { (decoder, buffer, count) throws(FLVError) in
                guard buffer.readInteger(as: UInt8.self) != nil else { throw .amfTruncated }  // weak keys
                guard count <= buffer.readableBytes / 2 else { throw .amfTruncated }
                var entries: [(key: AMF3Value, value: AMF3Value)] = []
                for _ in 0..<count {
                    let key = try decoder.decode(&buffer, depth: depth + 1)
                    entries.append((key, try decoder.decode(&buffer, depth: depth + 1)))
                }
                return .dictionary(entries)
            }
        default:
            throw .amfUnknownMarker(marker)
        }
    }

    /// The pattern every complex type shares (§3.7–3.15 except objects): a U29 whose low bit says reference (the
    /// rest is an index into the object table) or inline (the rest is a length or count, read by `body`). An
    /// inline value takes its table slot before its contents are read, as the writer numbered it.
    private mutating func readReferenced(
        _ buffer: inout ByteBuffer, body: (inout AMF3Decoder, inout ByteBuffer, Int) throws(FLVError) -> AMF3Value
    ) throws(FLVError) -> AMF3Value {
        let header = try Self.readU29(&buffer)
        guard header & 1 == 1 else { return try object(at: Int(header >> 1)) }
        let slot = objects.count
        objects.append(nil)
        let (value, nodes, height) = try measured { decoder throws(FLVError) in try body(&decoder, &buffer, Int(header >> 1)) }
        objects[slot] = Entry(value: value, nodes: nodes, height: height)
        return value
    }

    /// Reads a complex value, noting how many nodes it adds and how tall it is (references included).
    private mutating func measured(_ read: (inout AMF3Decoder) throws(FLVError) -> AMF3Value) throws(FLVError) -> (AMF3Value, Int, Int) {
        let before = nodes
        let depthBefore = heights.count
        heights.append(0)
        let value = try read(&self)
        let inner = heights.removeLast()
        // Inline children are counted by the depth they were read at; a reference's height is carried up here.
        let height = max(1, inner)
        if depthBefore > 0 { heights[depthBefore - 1] = max(heights[depthBefore - 1], height + 1) }
        return (value, nodes - before, height)
    }

    /// A reference: counts as the whole value it stands for, and may not take the nesting past `maxDepth`.
    private mutating func object(at index: Int) throws(FLVError) -> AMF3Value {
        guard index < objects.count else { throw .amfUnsupported("AMF3 object reference \(index) out of range") }
        guard let entry = objects[index] else { throw .amfUnsupported("AMF3 cyclic object reference") }
        try count(entry.nodes)  // its container was counted as the reference marker was read
        guard heights.count + entry.height <= maxDepth + 1 else { throw .amfNestingTooDeep(limit: maxDepth) }
        if let last = heights.indices.last { heights[last] = max(heights[last], entry.height + 1) }
        return entry.value
    }

    /// §3.12: U29O-ref, U29O-traits-ref, U29O-traits-ext or inline traits, then sealed values and dynamic members.
    private mutating func readObject(_ buffer: inout ByteBuffer, depth: Int) throws(FLVError) -> AMF3Value {
        let header = try Self.readU29(&buffer)
        guard header & 1 == 1 else { return try object(at: Int(header >> 1)) }
        let slot = objects.count
        objects.append(nil)
        let (value, nodes, height) = try measured { decoder throws(FLVError) in
            try decoder.readObjectBody(&buffer, header: header, depth: depth)
        }
        objects[slot] = Entry(value: value, nodes: nodes, height: height)
        return value
    }

    private mutating func readObjectBody(_ buffer: inout ByteBuffer, header: UInt32, depth: Int) throws(FLVError) -> AMF3Value {
        let objectTraits: Traits
        if header & 2 == 0 {
            let index = Int(header >> 2)
            guard index < traits.count else { throw .amfUnsupported("AMF3 traits reference \(index) out of range") }
            objectTraits = traits[index]
        } else if header & 4 != 0 {
            let className = try readString(&buffer)
            throw .amfUnsupported("AMF3 externalizable class \(className.isEmpty ? "(anonymous)" : className)")
        } else {
            let className = try readString(&buffer)
            let sealedCount = Int(header >> 4)
            guard sealedCount <= buffer.readableBytes else { throw .amfTruncated }
            var names: [String] = []
            for _ in 0..<sealedCount { names.append(try readString(&buffer)) }
            objectTraits = Traits(className: className, sealedNames: names, isDynamic: header & 8 != 0)
            traits.append(objectTraits)
        }
        var members: [(key: String, value: AMF3Value)] = []
        for name in objectTraits.sealedNames {
            members.append((name, try decode(&buffer, depth: depth + 1)))
        }
        if objectTraits.isDynamic {
            while true {
                let key = try readString(&buffer)
                if key.isEmpty { break }
                members.append((key, try decode(&buffer, depth: depth + 1)))
            }
        }
        return .object(className: objectTraits.className, members)
    }

    /// §1.3.2 UTF-8-vr: a reference into the string table or an inline string; the empty string is never listed.
    private mutating func readString(_ buffer: inout ByteBuffer) throws(FLVError) -> String {
        let header = try Self.readU29(&buffer)
        let value = Int(header >> 1)
        guard header & 1 == 1 else {
            guard value < strings.count else { throw .amfUnsupported("AMF3 string reference \(value) out of range") }
            return strings[value]
        }
        let text = try Self.readUTF8(&buffer, length: value)
        if !text.isEmpty { strings.append(text) }
        return text
    }

    private static func readUTF8(_ buffer: inout ByteBuffer, length: Int) throws(FLVError) -> String {
        guard let text = buffer.readString(length: length) else { throw .amfTruncated }
        return text
    }

    private static func readDouble(_ buffer: inout ByteBuffer) throws(FLVError) -> Double {
        guard let bits = buffer.readInteger(as: UInt64.self) else { throw .amfTruncated }
        return Double(bitPattern: bits)
    }

    /// §1.3.1: 1 to 4 bytes, 7 bits from each of the first three, 8 from the fourth.
    static func readU29(_ buffer: inout ByteBuffer) throws(FLVError) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw .amfTruncated }
            if index == 3 { return (value << 8) | UInt32(byte) }
            value = (value << 7) | UInt32(byte & 0x7F)
            if byte & 0x80 == 0 { return value }
        }
        return value
    }
}

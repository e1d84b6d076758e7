import NIOCore

/// Reads AMF0 values from a buffer, refusing truncated input and nesting deeper than a limit.
public struct AMF0Decoder {
    public static let defaultMaxDepth = 32
    public var maxDepth: Int

    public init(maxDepth: Int = AMF0Decoder.defaultMaxDepth) {
        self.maxDepth = maxDepth
    }

    /// Decodes every value until the buffer is empty.
    public func decodeAll(_ buffer: inout ByteBuffer) throws(FLVError) -> [AMF0Value] {
        var values: [AMF0Value] = []
        while buffer.readableBytes > 0 {
            values.append(try decode(&buffer))
        }
        return values
    }

    /// Decodes one value; on error the buffer's reader index is undefined.
    public func decode(_ buffer: inout ByteBuffer) throws(FLVError) -> AMF0Value {
        try decode(&buffer, depth: 0)
    }

    private func decode(_ buffer: inout ByteBuffer, depth: Int) throws(FLVError) -> AMF0Value {
        guard depth <= maxDepth else { throw .amfNestingTooDeep(limit: maxDepth) }
        guard let marker = buffer.readInteger(as: UInt8.self) else { throw .amfTruncated }
        switch marker {
        case 0x00:
            return .number(try readDouble(&buffer))
        case 0x01:
            guard let b = buffer.readInteger(as: UInt8.self) else { throw .amfTruncated }
            return .boolean(b != 0)
        case 0x02:
            return .string(try readShortString(&buffer))
        case 0x03:
            return .object(try readProperties(&buffer, depth: depth))
        case 0x05:
            return .null
        case 0x06:
            return .undefined
        case 0x07:
            guard let index = buffer.readInteger(as: UInt16.self) else { throw .amfTruncated }
            return .reference(index)
        case 0x08:
            // The count is only a hint; peers get it wrong, so the end marker decides.
            guard buffer.readInteger(as: UInt32.self) != nil else { throw .amfTruncated }
            return .ecmaArray(try readProperties(&buffer, depth: depth))
        case 0x0A:
            guard let count = buffer.readInteger(as: UInt32.self) else { throw .amfTruncated }
            // Each element takes at least one byte: refuse counts the buffer cannot hold before allocating.
            guard Int(count) <= buffer.readableBytes else { throw .amfTruncated }
            var items: [AMF0Value] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try decode(&buffer, depth: depth + 1)) }
            return .strictArray(items)
        case 0x0B:
            let ms = try readDouble(&buffer)
            guard let zone = buffer.readInteger(as: Int16.self) else { throw .amfTruncated }
            return .date(ms, timeZone: zone)
        case 0x0C:
            return .longString(try readLongString(&buffer))
        case 0x0F:
            return .xmlDocument(try readLongString(&buffer))
        case 0x10:
            let className = try readShortString(&buffer)
            return .typedObject(className: className, try readProperties(&buffer, depth: depth))
        case 0x11:
            return .amf3(try AMF3ScalarDecoder.decode(&buffer))
        case 0x04, 0x0D, 0x0E:
            throw .amfUnsupported("reserved marker \(marker)")
        default:
            throw .amfUnknownMarker(marker)
        }
    }

    private func readProperties(
        _ buffer: inout ByteBuffer, depth: Int
    ) throws(FLVError) -> [(key: String, value: AMF0Value)] {
        var properties: [(key: String, value: AMF0Value)] = []
        while true {
            let key = try readShortString(&buffer)
            if key.isEmpty {
                guard let end = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { throw .amfTruncated }
                if end == 0x09 {
                    buffer.moveReaderIndex(forwardBy: 1)
                    return properties
                }
            }
            properties.append((key, try decode(&buffer, depth: depth + 1)))
        }
    }

    private func readDouble(_ buffer: inout ByteBuffer) throws(FLVError) -> Double {
        guard let bits = buffer.readInteger(as: UInt64.self) else { throw .amfTruncated }
        return Double(bitPattern: bits)
    }

    private func readShortString(_ buffer: inout ByteBuffer) throws(FLVError) -> String {
        guard let length = buffer.readInteger(as: UInt16.self),
            let text = buffer.readString(length: Int(length))
        else { throw .amfTruncated }
        return text
    }

    private func readLongString(_ buffer: inout ByteBuffer) throws(FLVError) -> String {
        guard let length = buffer.readInteger(as: UInt32.self), Int(length) <= buffer.readableBytes,
            let text = buffer.readString(length: Int(length))
        else { throw .amfTruncated }
        return text
    }
}

/// AMF3's scalar types, enough for the values peers send after an AMF0 switch marker.
enum AMF3ScalarDecoder {
    static func decode(_ buffer: inout ByteBuffer) throws(FLVError) -> AMF3Value {
        guard let marker = buffer.readInteger(as: UInt8.self) else { throw .amfTruncated }
        switch marker {
        case 0x00: return .undefined
        case 0x01: return .null
        case 0x02: return .boolean(false)
        case 0x03: return .boolean(true)
        case 0x04:
            let raw = try readU29(&buffer)
            // Sign-extend the 29-bit value.
            return .integer(raw & 0x1000_0000 != 0 ? Int32(bitPattern: raw | 0xE000_0000) : Int32(raw))
        case 0x05:
            guard let bits = buffer.readInteger(as: UInt64.self) else { throw .amfTruncated }
            return .double(Double(bitPattern: bits))
        case 0x06:
            let header = try readU29(&buffer)
            guard header & 1 == 1 else { throw .amfUnsupported("AMF3 string reference") }
            let length = Int(header >> 1)
            guard let text = buffer.readString(length: length) else { throw .amfTruncated }
            return .string(text)
        default:
            throw .amfUnsupported("AMF3 marker \(marker)")
        }
    }

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

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
            var amf3 = AMF3Decoder(maxDepth: maxDepth - depth)
            return .amf3(try amf3.decode(&buffer))
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

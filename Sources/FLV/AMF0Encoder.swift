import NIOCore

extension ByteBuffer {
    /// Writes one AMF0 value. Strings longer than 65535 bytes are written as long strings.
    @discardableResult
    public mutating func writeAMF0(_ value: AMF0Value) -> Int {
        let start = writerIndex
        switch value {
        case .number(let n):
            writeInteger(UInt8(0x00))
            writeInteger(n.bitPattern)
        case .boolean(let b):
            writeInteger(UInt8(0x01))
            writeInteger(UInt8(b ? 1 : 0))
        case .string(let s):
            if s.utf8.count > Int(UInt16.max) {
                writeAMF0(.longString(s))
            } else {
                writeInteger(UInt8(0x02))
                writeAMF0ShortString(s)
            }
        case .object(let properties):
            writeInteger(UInt8(0x03))
            writeAMF0Properties(properties)
        case .null:
            writeInteger(UInt8(0x05))
        case .undefined:
            writeInteger(UInt8(0x06))
        case .reference(let index):
            writeInteger(UInt8(0x07))
            writeInteger(index)
        case .ecmaArray(let properties):
            writeInteger(UInt8(0x08))
            writeInteger(UInt32(properties.count))
            writeAMF0Properties(properties)
        case .strictArray(let items):
            writeInteger(UInt8(0x0A))
            writeInteger(UInt32(items.count))
            for item in items { writeAMF0(item) }
        case .date(let ms, let zone):
            writeInteger(UInt8(0x0B))
            writeInteger(ms.bitPattern)
            writeInteger(zone)
        case .longString(let s):
            writeInteger(UInt8(0x0C))
            writeInteger(UInt32(s.utf8.count))
            writeString(s)
        case .xmlDocument(let s):
            writeInteger(UInt8(0x0F))
            writeInteger(UInt32(s.utf8.count))
            writeString(s)
        case .typedObject(let className, let properties):
            writeInteger(UInt8(0x10))
            writeAMF0ShortString(className)
            writeAMF0Properties(properties)
        case .amf3(let value):
            writeInteger(UInt8(0x11))
            writeAMF3(value)
        }
        return writerIndex - start
    }

    private mutating func writeAMF0ShortString(_ s: String) {
        writeInteger(UInt16(s.utf8.count))
        writeString(s)
    }

    private mutating func writeAMF0Properties(_ properties: [(key: String, value: AMF0Value)]) {
        for (key, value) in properties {
            writeAMF0ShortString(key)
            writeAMF0(value)
        }
        writeInteger(UInt16(0))
        writeInteger(UInt8(0x09))
    }

    /// AMF3 without references: every string, object and traits record inline, which every reader accepts.
    private mutating func writeAMF3(_ value: AMF3Value) {
        func inlineHeader(_ count: Int) { writeU29(UInt32(count) << 1 | 1) }
        func string(_ s: String) {
            inlineHeader(s.utf8.count)
            writeString(s)
        }
        switch value {
        case .undefined: writeInteger(UInt8(0x00))
        case .null: writeInteger(UInt8(0x01))
        case .boolean(let b): writeInteger(UInt8(b ? 0x03 : 0x02))
        case .integer(let i):
            writeInteger(UInt8(0x04))
            writeU29(UInt32(bitPattern: i) & 0x1FFF_FFFF)
        case .double(let d):
            writeInteger(UInt8(0x05))
            writeInteger(d.bitPattern)
        case .string(let s):
            writeInteger(UInt8(0x06))
            string(s)
        case .xmlDocument(let s), .xml(let s):
            if case .xml = value { writeInteger(UInt8(0x0B)) } else { writeInteger(UInt8(0x07)) }
            string(s)
        case .date(let ms):
            writeInteger(UInt8(0x08))
            inlineHeader(0)
            writeInteger(ms.bitPattern)
        case .array(let dense, let associative):
            writeInteger(UInt8(0x09))
            inlineHeader(dense.count)
            for (key, item) in associative {
                string(key)
                writeAMF3(item)
            }
            string("")
            for item in dense { writeAMF3(item) }
        case .object(let className, let members):
            // Dynamic traits with no sealed members: every member goes as a name/value pair.
            writeInteger(UInt8(0x0A))
            writeU29(0b1011)
            string(className)
            for (key, member) in members {
                string(key)
                writeAMF3(member)
            }
            string("")
        case .byteArray(let bytes):
            writeInteger(UInt8(0x0C))
            inlineHeader(bytes.count)
            writeBytes(bytes)
        case .vectorInt(let items):
            writeInteger(UInt8(0x0D))
            inlineHeader(items.count)
            writeInteger(UInt8(0))
            for item in items { writeInteger(item) }
        case .vectorUInt(let items):
            writeInteger(UInt8(0x0E))
            inlineHeader(items.count)
            writeInteger(UInt8(0))
            for item in items { writeInteger(item) }
        case .vectorDouble(let items):
            writeInteger(UInt8(0x0F))
            inlineHeader(items.count)
            writeInteger(UInt8(0))
            for item in items { writeInteger(item.bitPattern) }
        case .vectorObject(let typeName, let items):
            writeInteger(UInt8(0x10))
            inlineHeader(items.count)
            writeInteger(UInt8(0))
            string(typeName)
            for item in items { writeAMF3(item) }
        case .dictionary(let entries):
            writeInteger(UInt8(0x11))
            inlineHeader(entries.count)
            writeInteger(UInt8(0))
            for (key, item) in entries {
                writeAMF3(key)
                writeAMF3(item)
            }
        }
    }

    private mutating func writeU29(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            writeInteger(UInt8(value))
        case 0x80..<0x4000:
            writeInteger(UInt8(value >> 7 | 0x80))
            writeInteger(UInt8(value & 0x7F))
        case 0x4000..<0x20_0000:
            writeInteger(UInt8(value >> 14 | 0x80))
            writeInteger(UInt8((value >> 7) & 0x7F | 0x80))
            writeInteger(UInt8(value & 0x7F))
        default:
            writeInteger(UInt8((value >> 22) & 0x7F | 0x80))
            writeInteger(UInt8((value >> 15) & 0x7F | 0x80))
            writeInteger(UInt8((value >> 8) & 0x7F | 0x80))
            writeInteger(UInt8(value & 0xFF))
        }
    }
}

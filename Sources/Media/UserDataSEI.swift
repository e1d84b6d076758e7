import NIOCore

/// A `user_data_unregistered` SEI message (H.264 D.1.6 / H.265 D.2.6, payload type 5: a 16-byte UUID, then free
/// bytes) as a NAL unit, and its insertion into a length-prefixed (AVCC/HVCC) access unit without re-encoding.
/// Players that surface SEI but not script data (the WeChat `live-player`) read cues this way. Pure.
public enum UserDataSEI {
    /// Ours: cue JSON follows it. (A fixed, random UUID, as ISO/IEC 11578 asks.)
    public static let cueUUID: [UInt8] = [
        0x6C, 0x1E, 0x3A, 0x52, 0x8F, 0x0D, 0x4B, 0x7E, 0x9A, 0x15, 0xC3, 0x27, 0xE4, 0x90, 0x5B, 0xD1,
    ]

    /// The NAL unit (header, sei_message with emulation prevention, rbsp trailing bits), without a length
    /// prefix; nil for codecs other than H.264 and HEVC.
    public static func nalUnit(uuid: [UInt8] = cueUUID, text: String, codec: Codec) -> [UInt8]? {
        let header: [UInt8]
        switch codec {
        case .h264: header = [0x06]  // nal_ref_idc 0, nal_unit_type 6 (SEI)
        case .hevc: header = [39 << 1, 0x01]  // PREFIX_SEI_NUT, layer 0, temporal id 1
        default: return nil
        }
        let payload = uuid + Array(text.utf8)
        var rbsp: [UInt8] = []
        for value in [5, payload.count] {
            // payloadType then payloadSize: 0xFF for every full 255, then the rest (7.3.2.3.1).
            var left = value
            while left >= 255 {
                rbsp.append(0xFF)
                left -= 255
            }
            rbsp.append(UInt8(left))
        }
        rbsp += payload
        rbsp.append(0x80)  // rbsp_stop_one_bit and alignment
        return header + addingEmulationPrevention(rbsp)
    }

    /// Inserts `nal` (no length prefix) into an access unit of `lengthSize`-byte-prefixed NAL units, before its
    /// first slice (after an access unit delimiter, SPS and PPS, where H.264 7.4.1.2.3 wants SEI). Returns nil
    /// when the access unit does not parse (it is then left as it was).
    public static func insert(_ nal: [UInt8], into accessUnit: ByteBuffer, codec: Codec, lengthSize: Int = 4) -> ByteBuffer? {
        guard (1...4).contains(lengthSize) else { return nil }
        var reader = accessUnit
        var at = reader.readerIndex
        var insertAt: Int?
        while reader.readableBytes > 0 {
            guard reader.readableBytes >= lengthSize else { return nil }
            var length = 0
            for _ in 0..<lengthSize { length = length << 8 | Int(reader.readInteger(as: UInt8.self)!) }
            guard length > 0, length <= reader.readableBytes, let first = reader.getInteger(at: reader.readerIndex, as: UInt8.self) else {
                return nil
            }
            if insertAt == nil && isSlice(first, codec: codec) { insertAt = at }
            reader.moveReaderIndex(forwardBy: length)
            at = reader.readerIndex
        }
        let position = insertAt ?? at
        var out = ByteBuffer()
        out.reserveCapacity(accessUnit.readableBytes + lengthSize + nal.count)
        var head = accessUnit.getSlice(at: accessUnit.readerIndex, length: position - accessUnit.readerIndex)!
        var tail = accessUnit.getSlice(at: position, length: accessUnit.writerIndex - position)!
        out.writeBuffer(&head)
        for shift in stride(from: (lengthSize - 1) * 8, through: 0, by: -8) { out.writeInteger(UInt8(truncatingIfNeeded: nal.count >> shift)) }
        out.writeBytes(nal)
        out.writeBuffer(&tail)
        return out
    }

    /// Whether the NAL unit whose first byte is `first` is a coded slice (VCL).
    static func isSlice(_ first: UInt8, codec: Codec) -> Bool {
        switch codec {
        case .h264: (1...5).contains(first & 0x1F)
        case .hevc: (first >> 1) & 0x3F < 32
        default: false
        }
    }

    /// Emulation prevention (7.4.1): a 0x03 after any two zero bytes followed by a byte ≤ 3.
    static func addingEmulationPrevention(_ rbsp: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rbsp.count + rbsp.count / 64)
        var zeros = 0
        for byte in rbsp {
            if zeros >= 2 && byte <= 3 {
                out.append(0x03)
                zeros = 0
            }
            out.append(byte)
            zeros = byte == 0 ? zeros + 1 : 0
        }
        return out
    }
}

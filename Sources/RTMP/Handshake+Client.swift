import NIOCore

/// The RTMP handshake from the client's side (CueCast pushing to a platform): C0+C1 out, S0+S1+S2 in, C2 out.
extension Handshake {
    /// C0 and C1 (1537 bytes), Flash-9 style as FFmpeg and OBS send it: a non-zero version field and an
    /// HMAC-SHA256 digest (scheme 0) under "Genuine Adobe Flash Player 001". Servers that check the digest accept
    /// it, servers that do not ignore it, so one form suits both kinds.
    public static func clientHello(
        time: UInt32 = 0,
        random: (inout [UInt8]) -> Void = { bytes in
            var generator = SystemRandomNumberGenerator()
            for i in bytes.indices { bytes[i] = generator.next() }
        }
    ) -> ByteBuffer {
        var c1 = [UInt8](repeating: 0, count: packetSize)
        random(&c1)
        withUnsafeBytes(of: time.bigEndian) { c1.replaceSubrange(0..<4, with: $0) }
        c1.replaceSubrange(4..<8, with: [0x80, 0x00, 0x07, 0x02])
        let offset = digestOffset(in: c1, scheme: 0)
        c1.replaceSubrange(offset..<offset + 32, with: hmac(key: clientKeyText, message: c1, skipping: offset))
        var out = ByteBufferAllocator().buffer(capacity: 1 + packetSize)
        out.writeInteger(version)
        out.writeBytes(c1)
        return out
    }

    /// Reads S0+S1+S2 (3073 bytes) and returns C2, which echoes S1.
    /// - Throws: `RTMPError.unsupportedVersion` for an S0 other than 3, `.protocolViolation` when short.
    public static func clientAnswer(s0s1s2: ByteBuffer) throws(RTMPError) -> ByteBuffer {
        var input = s0s1s2
        guard let s0 = input.readInteger(as: UInt8.self), let s1 = input.readSlice(length: packetSize),
            input.readableBytes >= packetSize
        else { throw .protocolViolation("short handshake from the server") }
        guard s0 == version else { throw .unsupportedVersion(s0) }
        return s1
    }
}

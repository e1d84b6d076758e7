import Crypto
import NIOCore

/// The RTMP handshake from the server's side: C0+C1 in, S0+S1+S2 out, C2 read and dropped.
///
/// Two kinds of client exist. Simple clients send random C1 and expect it echoed in S2. Flash-9 style clients
/// (ffmpeg, OBS, players) hide an HMAC-SHA256 digest in C1; a server that answers them with a digest of its own
/// is accepted by players that verify it. Both are handled here without I/O.
public enum Handshake {
    public static let version: UInt8 = 3
    public static let packetSize = 1536

    public enum ClientKind: Sendable, Equatable {
        case simple
        /// Digest found with the given scheme (0: digest after the time/version block, 1: after the key block).
        case digest(scheme: Int)
    }

    /// Result of reading C0+C1: what the client is and what to send back.
    public struct Reply: Sendable {
        public var clientKind: ClientKind
        /// S0 + S1 + S2, 3073 bytes.
        public var bytes: ByteBuffer
    }

    // "Genuine Adobe Flash Player 001" and "Genuine Adobe Flash Media Server 001", each followed by the
    // protocol's fixed 32-byte tail.
    static let keyTail: [UInt8] = [
        0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
        0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
    ]
    static let clientKeyText = Array("Genuine Adobe Flash Player 001".utf8)
    static let serverKeyText = Array("Genuine Adobe Flash Media Server 001".utf8)
    static var fullServerKey: [UInt8] { serverKeyText + keyTail }
    static var fullClientKey: [UInt8] { clientKeyText + keyTail }

    /// Reads C0 and C1 (1537 bytes) and builds the reply. `random` fills S1 so tests can be deterministic.
    public static func reply(
        c0c1: ByteBuffer, serverTime: UInt32 = 0,
        random: (inout [UInt8]) -> Void = { bytes in
            var generator = SystemRandomNumberGenerator()
            for i in bytes.indices { bytes[i] = generator.next() }
        }
    ) throws(RTMPError) -> Reply {
        var input = c0c1
        guard let c0 = input.readInteger(as: UInt8.self), let c1 = input.readBytes(length: packetSize) else {
            throw .protocolViolation("short handshake")
        }
        // Versions above 3 are answered with 3, as the spec allows; below 3 is plain RTMP encrypted or garbage.
        guard c0 == version else { throw .unsupportedVersion(c0) }

        var s1 = [UInt8](repeating: 0, count: packetSize)
        random(&s1)
        withUnsafeBytes(of: serverTime.bigEndian) { s1.replaceSubrange(0..<4, with: $0) }

        var output = ByteBufferAllocator().buffer(capacity: 1 + 2 * packetSize)
        output.writeInteger(version)

        if let (scheme, clientDigest) = findDigest(in: c1, key: clientKeyText) {
            // Version field ≥ 3.0 tells digest-aware clients to verify our S1 digest.
            s1.replaceSubrange(4..<8, with: [0x04, 0x05, 0x00, 0x01])
            let offset = digestOffset(in: s1, scheme: scheme)
            let digest = hmac(key: serverKeyText, message: s1, skipping: offset)
            s1.replaceSubrange(offset..<offset + 32, with: digest)

            var s2 = [UInt8](repeating: 0, count: packetSize)
            random(&s2)
            let tempKey = hmac(key: fullServerKey, message: clientDigest)
            let s2Digest = hmac(key: tempKey, message: Array(s2[0..<packetSize - 32]))
            s2.replaceSubrange(packetSize - 32..<packetSize, with: s2Digest)
            output.writeBytes(s1)
            output.writeBytes(s2)
            return Reply(clientKind: .digest(scheme: scheme), bytes: output)
        }

        // Simple handshake: S1 has a zero version; S2 echoes C1.
        s1.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        output.writeBytes(s1)
        output.writeBytes(c1)
        return Reply(clientKind: .simple, bytes: output)
    }

    /// Where the 32-byte digest sits in a 1536-byte packet for a scheme.
    static func digestOffset(in packet: [UInt8], scheme: Int) -> Int {
        let base = scheme == 0 ? 8 : 772
        let sum = Int(packet[base]) + Int(packet[base + 1]) + Int(packet[base + 2]) + Int(packet[base + 3])
        return sum % 728 + base + 4
    }

    /// Tries both schemes; returns the scheme and the digest if one validates.
    static func findDigest(in packet: [UInt8], key: [UInt8]) -> (Int, [UInt8])? {
        for scheme in [0, 1] {
            let offset = digestOffset(in: packet, scheme: scheme)
            let expected = hmac(key: key, message: packet, skipping: offset)
            if Array(packet[offset..<offset + 32]) == expected {
                return (scheme, expected)
            }
        }
        return nil
    }

    static func hmac(key: [UInt8], message: [UInt8], skipping offset: Int) -> [UInt8] {
        var authenticator = HMAC<SHA256>(key: SymmetricKey(data: key))
        authenticator.update(data: message[0..<offset])
        authenticator.update(data: message[(offset + 32)...])
        return Array(authenticator.finalize())
    }

    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}

import FLV
import NIOCore
import Testing

@testable import RTMP

@Suite struct HandshakeTests {
    func randomPacket(version: [UInt8]) -> [UInt8] {
        var bytes = (0..<Handshake.packetSize).map { _ in UInt8.random(in: 0...255) }
        bytes.replaceSubrange(0..<4, with: [0, 0, 0, 0])
        bytes.replaceSubrange(4..<8, with: version)
        return bytes
    }

    /// A Flash-9 style C1, digest placed as the client would place it.
    func digestC1(scheme: Int) -> [UInt8] {
        var c1 = randomPacket(version: [0x80, 0x00, 0x07, 0x02])
        let offset = Handshake.digestOffset(in: c1, scheme: scheme)
        c1.replaceSubrange(offset..<offset + 32, with: Handshake.hmac(key: Handshake.clientKeyText, message: c1, skipping: offset))
        return c1
    }

    @Test func simpleClientGetsItsC1Echoed() throws {
        let c1 = randomPacket(version: [0, 0, 0, 0])
        let reply = try Handshake.reply(c0c1: ByteBuffer(bytes: [3] + c1))
        #expect(reply.clientKind == .simple)
        let bytes = Array(reply.bytes.readableBytesView)
        #expect(bytes.count == 1 + 2 * Handshake.packetSize)
        #expect(bytes[0] == 3)
        #expect(Array(bytes[1537...]) == c1)
    }

    @Test(arguments: [0, 1])
    func digestClientGetsValidDigests(scheme: Int) throws {
        let c1 = digestC1(scheme: scheme)
        let reply = try Handshake.reply(c0c1: ByteBuffer(bytes: [3] + c1))
        #expect(reply.clientKind == .digest(scheme: scheme))
        let bytes = Array(reply.bytes.readableBytesView)
        let s1 = Array(bytes[1..<1537])
        let s2 = Array(bytes[1537...])
        // S1 carries a digest keyed with the server's short key, in the client's scheme.
        let found = Handshake.findDigest(in: s1, key: Handshake.serverKeyText)
        #expect(found?.0 == scheme)
        // S2's last 32 bytes are keyed by the client's digest.
        let clientOffset = Handshake.digestOffset(in: c1, scheme: scheme)
        let clientDigest = Array(c1[clientOffset..<clientOffset + 32])
        let key = Handshake.hmac(key: Handshake.fullServerKey, message: clientDigest)
        #expect(Array(s2[1504...]) == Handshake.hmac(key: key, message: Array(s2[0..<1504])))
    }

    @Test func corruptedDigestFallsBackToSimple() throws {
        var c1 = digestC1(scheme: 0)
        let offset = Handshake.digestOffset(in: c1, scheme: 0)
        c1[offset] ^= 0xFF
        #expect(try Handshake.reply(c0c1: ByteBuffer(bytes: [3] + c1)).clientKind == .simple)
    }

    @Test(arguments: [UInt8(0), 6, 0x16, 0x47])
    func wrongVersionIsRefused(_ version: UInt8) {
        let c1 = randomPacket(version: [0, 0, 0, 0])
        #expect(throws: RTMPError.unsupportedVersion(version)) { try Handshake.reply(c0c1: ByteBuffer(bytes: [version] + c1)) }
    }
}

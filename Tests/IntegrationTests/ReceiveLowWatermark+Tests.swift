#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// The server lets a publisher's bytes gather in the socket (`SO_RCVLOWAT`); a publisher that stops at a full
/// acknowledgement window, as OBS does, must still get its acknowledgement and keep flowing.
@Suite struct ReceiveLowWatermarkFlowTests {
    /// SO_RCVLOWAT of the socket this process holds whose peer is at `port` on loopback: the server's end of
    /// the test's connection (the test server runs in this process).
    static func lowWatermark(ofConnectionFromPort port: Int) throws -> Int32? {
        for name in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            guard let fd = Int32(name),
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"))?.hasPrefix("socket:") == true
            else { continue }
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
            }
            guard named == 0, peer.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: peer.sin_port)) == port else { continue }
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, &length) == 0 else { continue }
            return value
        }
        return nil
    }

    static func acknowledged(in reply: ByteBuffer) throws -> UInt32? {
        try RawRTMPClient.messages(in: reply).compactMap { message -> UInt32? in
            guard message.type == .acknowledgement, case .acknowledgement(let sequence) = try ControlMessage(message) else { return nil }
            return sequence
        }.last
    }

    /// With the default mark, and with `--publish-gather-ms 0` (the mark left off).
    @Test(arguments: [ReceiveLowWatermark.defaultMilliseconds, 0])
    func aPublisherWaitingForAcknowledgementsKeepsFlowing(gatherMilliseconds: Int) async throws {
        try await withServer(configure: { $0.publishGatherMilliseconds = gatherMilliseconds }) { server in
            let secret = try await server.server.keys.add(stream: "live/acks")
            let window = 64_000
            var setup = RefusalTests.publishBytes(name: "acks?key=\(secret)")
            var announce = RawRTMPClient.chunks([ControlMessage.windowAcknowledgementSize(UInt32(window)).message()], chunkSize: 65_536)
            setup.writeBuffer(&announce)
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            let clientPort = try #require(client.channel.channel.localAddress?.port)
            let (windowsAfterMark, longestWait, mark) = try await client.channel.executeThenClose { inbound, outbound in
                try await outbound.write(setup)
                var iterator = inbound.makeAsyncIterator()
                var reply = ByteBuffer()
                while try !RefusalTests.statusCodes(reply).contains("NetStream.Publish.Start") {
                    guard var part = try await iterator.next() else { throw TimeoutError(what: "Publish.Start") }
                    reply.writeBuffer(&part)
                }
                // MP3 audio, which the server counts and ignores: only the bytes and their acknowledgements matter.
                var encoder = ChunkEncoder()
                var scratch = ByteBuffer()
                encoder.encode(ControlMessage.setChunkSize(65_536).message(), into: &scratch)  // the server has this size already
                // Acknowledgements count the bytes after the handshake (C0, C1, C2: 3073 bytes).
                var sent = setup.readableBytes - 3073
                var acked = 0
                var timestamp: UInt32 = 0
                var windowsAfterMark = 0
                var longestWait = Duration.zero
                let start = ContinuousClock.now
                // The mark is set at the first idle check, a second in; waits are timed from 2 s on.
                let markOn = start + .seconds(2)
                while ContinuousClock.now < start + .seconds(4) {
                    if sent - acked >= window {
                        let waitStart = ContinuousClock.now
                        while sent - acked >= window {
                            guard var part = try await iterator.next() else { throw TimeoutError(what: "an acknowledgement") }
                            reply.writeBuffer(&part)
                            if let sequence = try Self.acknowledged(in: reply) { acked = Int(sequence) }
                        }
                        if waitStart > markOn {
                            longestWait = max(longestWait, ContinuousClock.now - waitStart)
                            windowsAfterMark += 1
                        }
                    }
                    var payload = ByteBuffer(bytes: [0x2F])
                    payload.writeRepeatingByte(0, count: 3999)
                    var out = ByteBuffer()
                    encoder.encode(RTMPMessage(chunkStreamID: 4, timestamp: timestamp, typeID: 8, messageStreamID: 1, payload: payload), into: &out)
                    sent += out.readableBytes
                    timestamp += 26
                    try await outbound.write(out)
                }
                let mark = try Self.lowWatermark(ofConnectionFromPort: clientPort)
                // A small last message, then silence with the connection open: it waits below the mark until
                // a quiet second lowers it, then the publish ends.
                var unpublish = ByteBuffer()
                encoder.encode(Command(name: "FCUnpublish", transactionID: 5, arguments: [.string("acks")]).message(), into: &unpublish)
                try await outbound.write(unpublish)
                try await server.eventually(timeout: 10, "the publish to end while the connection stays open") {
                    try await !server.request(.GET, "/api/v1/streams").body.contains("live/acks")
                }
                return (windowsAfterMark, longestWait, mark)
            }
            // The mark follows the rate this machine manages: on, and at most a quarter of the window; or off.
            let value = try #require(mark, "the server's end of the connection")
            if gatherMilliseconds > 0 {
                #expect(value >= ReceiveLowWatermark.minimum && value <= 16_000, "\(value)")
            } else {
                #expect(value == 1, "a mark of 0 ms leaves the kernel's default")
            }
            // Without the early acknowledgement a window waits until a quiet second lowers the mark: a second or
            // more each, two windows at most in these two seconds. A loaded test run slows a healthy server too,
            // so the bounds sit between the two.
            #expect(longestWait < .milliseconds(950), "no window waited for the next idle check")
            #expect(windowsAfterMark >= 4, "windows acknowledged from 2 s on: \(windowsAfterMark)")
        }
    }
}

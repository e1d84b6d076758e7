import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import RTMP

final class RecordingClientDelegate: RTMPClientDelegate {
    let closes = NIOLockedValueBox<[(reason: String, error: RTMPError?)]>([])
    let refusals = NIOLockedValueBox<[String]>([])

    func published(output: any PlayOutput, messageStreamID: UInt32) {}
    func refused(code: String, description: String) { refusals.withLockedValue { $0.append(code) } }
    func writabilityChanged() {}
    func closed(reason: String, error: RTMPError?) { closes.withLockedValue { $0.append((reason, error)) } }
}

/// The push's outgoing connection: a server that never answers, or answers the handshake and then nothing, is
/// given up on after the handler's timeout, with an error the push shows and retries on.
@Suite struct RTMPClientHandlerTests {
    func makeChannel(timeoutSeconds: Int64 = 10) throws -> (EmbeddedChannel, RecordingClientDelegate) {
        let delegate = RecordingClientDelegate()
        let target = ClientSession.Target(app: "live", tcURL: "rtmp://127.0.0.1/live", streamName: "key")
        let channel = EmbeddedChannel(handler: RTMPClientHandler(target: target, timeoutSeconds: timeoutSeconds, delegate: delegate))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, delegate)
    }

    @Test func aServerThatNeverAnswersTheHandshakeTimesOut() throws {
        let (channel, delegate) = try makeChannel()
        let c0c1 = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(c0c1.readableBytes == 1 + Handshake.packetSize && c0c1.getInteger(at: 0, as: UInt8.self) == 3)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(9_999))
        #expect(delegate.closes.withLockedValue { $0.isEmpty } && channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        let closes = delegate.closes.withLockedValue { $0 }
        #expect(closes.count == 1)
        #expect(closes.first?.reason == "no NetStream.Publish.Start within 10 s")
        #expect(closes.first?.error == .handshakeTimeout(seconds: 10))
        #expect(!channel.isActive)
    }

    /// Past the handshake the clock keeps running: `connect` sent and never answered ends the same way.
    @Test func aServerThatAnswersTheHandshakeAndNothingElseTimesOut() throws {
        let (channel, delegate) = try makeChannel(timeoutSeconds: 3)
        _ = try channel.readOutbound(as: ByteBuffer.self)
        var s0s1s2 = ByteBuffer(bytes: [3])
        s0s1s2.writeBytes(Array(repeating: 0, count: 2 * Handshake.packetSize))
        try channel.writeInbound(s0s1s2)
        var sent = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { sent.writeBuffer(&part) }
        #expect(sent.readSlice(length: Handshake.packetSize) != nil, "C2 first")
        var decoder = ChunkDecoder()
        var commands: [String] = []
        while let message = try decoder.decode(buffer: &sent) {
            if message.typeID == MessageType.commandAMF0.rawValue { commands.append(try Command(message).name) }
        }
        #expect(commands.first == "connect", "\(commands)")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(delegate.closes.withLockedValue { $0.isEmpty })
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(delegate.closes.withLockedValue { $0.map(\.error) } == [.handshakeTimeout(seconds: 3)])
        #expect(delegate.refusals.withLockedValue { $0.isEmpty }, "a silent server is not a refusal: the push retries it on its back-off")
        #expect(!channel.isActive)
    }

    @Test func aWrongHandshakeVersionClosesAtOnce() throws {
        let (channel, delegate) = try makeChannel()
        _ = try channel.readOutbound(as: ByteBuffer.self)
        var s0s1s2 = ByteBuffer(bytes: [6])
        s0s1s2.writeBytes(Array(repeating: 0, count: 2 * Handshake.packetSize))
        try channel.writeInbound(s0s1s2)
        #expect(delegate.closes.withLockedValue { $0.map(\.error) } == [.unsupportedVersion(6)])
        #expect(!channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(delegate.closes.withLockedValue { $0.count } == 1, "closed once: the timer finds it closed")
    }
}

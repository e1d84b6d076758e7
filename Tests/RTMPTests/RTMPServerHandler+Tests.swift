import FLV
import Media
import NIOCore
import NIOEmbedded
import NIOConcurrencyHelpers
import Testing

@testable import RTMP

final class RecordingDelegate: RTMPConnectionDelegate {
    let events = NIOLockedValueBox<[String]>([])
    let closeErrors = NIOLockedValueBox<[RTMPError?]>([])

    func handshakeCompleted(clientKind: Handshake.ClientKind) { events.withLockedValue { $0.append("handshake") } }
    func connected(app: String, tcURL: String?, flashVersion: String?) { events.withLockedValue { $0.append("connect \(app)") } }
    func authorize(_ request: PublishRequest) async -> Result<any PublishSink, PublishRefusal> { .failure(.badName("test")) }
    func authorizePlay(_ request: PlayRequest) async -> Result<any PlaySink, PlayRefusal> { .failure(.streamNotFound("test")) }
    func ignored(typeID: UInt8, reason: String) { events.withLockedValue { $0.append("ignored \(typeID)") } }
    func dropped(typeID: UInt8, reason: String) { events.withLockedValue { $0.append("dropped \(typeID)") } }
    func closed(reason: String, error: RTMPError?) {
        events.withLockedValue { $0.append("closed") }
        closeErrors.withLockedValue { $0.append(error) }
    }
}

@Suite struct RTMPServerHandlerTests {
    func makeChannel(configure: (inout RTMPConnectionConfiguration) -> Void = { _ in }) throws -> (EmbeddedChannel, RecordingDelegate) {
        var configuration = RTMPConnectionConfiguration()
        configure(&configuration)
        let delegate = RecordingDelegate()
        let channel = EmbeddedChannel(handler: RTMPServerHandler(configuration: configuration, delegate: delegate))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, delegate)
    }

    func handshake(_ channel: EmbeddedChannel) throws {
        var c0c1 = ByteBuffer(bytes: [3])
        c0c1.writeBytes(Array(repeating: 0, count: 1536))
        try channel.writeInbound(c0c1)
        let s0s1s2 = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(s0s1s2.readableBytes == 3073)
        try channel.writeInbound(ByteBuffer(bytes: Array(repeating: 0, count: 1536)))
    }

    func decodeOutbound(_ channel: EmbeddedChannel) throws -> [RTMPMessage] {
        var decoder = ChunkDecoder()
        var all = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
        var out: [RTMPMessage] = []
        while let m = try decoder.decode(buffer: &all) { out.append(m) }
        return out
    }

    @Test func handshakeThenConnectInOneRead() throws {
        let (channel, delegate) = try makeChannel()
        var c0c1 = ByteBuffer(bytes: [3])
        c0c1.writeBytes(Array(repeating: 0, count: 1536))
        try channel.writeInbound(c0c1)
        _ = try channel.readOutbound(as: ByteBuffer.self)
        // C2 and the connect command arrive in the same read, as they do from real clients.
        var bytes = ByteBuffer(bytes: Array(repeating: 0, count: 1536))
        var encoder = ChunkEncoder()
        encoder.encode(Command(name: "connect", transactionID: 1, commandObject: .object([("app", .string("live"))])).message(), into: &bytes)
        try channel.writeInbound(bytes)
        let replies = try decodeOutbound(channel)
        #expect(replies.map(\.typeID) == [5, 6, 1, 20])
        #expect(delegate.events.withLockedValue { $0 } == ["handshake", "connect live"])
        #expect(channel.isActive)
    }

    @Test func wrongVersionClosesAtOnce() throws {
        let (channel, delegate) = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        #expect(!channel.isActive)
        #expect(delegate.closeErrors.withLockedValue { $0 } == [.unsupportedVersion(UInt8(ascii: "G"))])
    }

    @Test func garbageAfterHandshakeCloses() throws {
        let (channel, delegate) = try makeChannel()
        try handshake(channel)
        // Type-3 chunk on a chunk stream never opened.
        try channel.writeInbound(ByteBuffer(bytes: [0xC7, 1, 2, 3]))
        #expect(!channel.isActive)
        #expect(delegate.closeErrors.withLockedValue { $0 } == [.missingFullHeader(chunkStreamID: 7)])
    }

    @Test func truncatedAMFCloses() throws {
        let (channel, delegate) = try makeChannel()
        try handshake(channel)
        var bytes = ByteBuffer()
        var encoder = ChunkEncoder()
        encoder.encode(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 20, messageStreamID: 0, payload: ByteBuffer(bytes: [0x02, 0x00, 0x07, 0x63])), into: &bytes)
        try channel.writeInbound(bytes)
        #expect(!channel.isActive)
        #expect(delegate.closeErrors.withLockedValue { $0 } == [.amfTruncated])
    }

    @Test func unknownMessageTypesAreIgnoredAndCounted() throws {
        let (channel, delegate) = try makeChannel()
        try handshake(channel)
        var bytes = ByteBuffer()
        var encoder = ChunkEncoder()
        encoder.encode(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 99, messageStreamID: 0, payload: ByteBuffer(bytes: [1])), into: &bytes)
        try channel.writeInbound(bytes)
        #expect(channel.isActive)
        #expect(delegate.events.withLockedValue { $0 }.contains("ignored 99"))
    }

    @Test func handshakeTimeout() throws {
        let (channel, delegate) = try makeChannel { $0.handshakeTimeoutSeconds = 10 }
        try channel.writeInbound(ByteBuffer(bytes: [3, 0, 0]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(delegate.closeErrors.withLockedValue { $0 } == [.handshakeTimeout(seconds: 10)])
    }

    @Test func idleTimeout() throws {
        let (channel, delegate) = try makeChannel { $0.idleTimeoutSeconds = 30 }
        try handshake(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))
        #expect(!channel.isActive)
        #expect(delegate.closeErrors.withLockedValue { $0 } == [.idleTimeout(seconds: 30)])
    }
}

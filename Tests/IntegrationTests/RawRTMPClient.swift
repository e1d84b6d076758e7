import FLV
import Foundation
import NIOCore
import NIOPosix
@testable import RTMP

/// A deliberately simple client that sends exactly the bytes a test gives it and reports what came back, so
/// tests can misbehave in ways no real encoder does.
struct RawRTMPClient {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int) async throws -> RawRTMPClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawRTMPClient(channel: channel)
    }

    /// C0+C1 of a simple client and C2, as one write.
    static var handshakeBytes: ByteBuffer {
        var bytes = ByteBuffer(bytes: [3])
        bytes.writeBytes(Array(repeating: 0, count: 1536 * 2))
        return bytes
    }

    static func chunks(_ messages: [RTMPMessage], chunkSize: UInt32? = nil) -> ByteBuffer {
        var encoder = ChunkEncoder()
        var out = ByteBuffer()
        if let chunkSize { encoder.encode(ControlMessage.setChunkSize(chunkSize).message(), into: &out) }
        for message in messages { encoder.encode(message, into: &out) }
        return out
    }

    /// Sends `bytes`, then reads until the server closes the connection; returns everything it sent back.
    /// Throws if the server keeps the connection open past `timeout`.
    func sendAndAwaitClose(_ bytes: ByteBuffer, timeout: Double = 15) async throws -> ByteBuffer {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(bytes)
            return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask {
                    var all = ByteBuffer()
                    do {
                        for try await var part in inbound { all.writeBuffer(&part) }
                    } catch {
                        // A reset is a close too.
                    }
                    return all
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    throw TimeoutError(what: "server to close the connection")
                }
                let result = try await group.next()!
                group.cancelAll()
                return result
            }
        }
    }

    /// Decodes what the server sent after the 3073-byte handshake reply.
    static func messages(in reply: ByteBuffer) throws -> [RTMPMessage] {
        var buffer = reply
        guard buffer.readSlice(length: 3073) != nil else { return [] }
        var decoder = ChunkDecoder()
        var out: [RTMPMessage] = []
        while let m = try decoder.decode(buffer: &buffer) { out.append(m) }
        return out
    }
}

extension RawRTMPClient {
    /// Sends `setup`, waits until the server answers with an `onStatus` carrying `code`, sends `media`, then
    /// closes. Returns the codes of every onStatus seen before the media went out.
    func publish(setup: ByteBuffer, awaiting code: String, media: ByteBuffer, timeout: Double = 15) async throws -> [String] {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(setup)
            var received = ByteBuffer()
            var codes: [String] = []
            let deadline = ContinuousClock.now + .seconds(timeout)
            var iterator = inbound.makeAsyncIterator()
            while !codes.contains(code) {
                guard ContinuousClock.now < deadline, var part = try await iterator.next() else {
                    throw TimeoutError(what: "onStatus \(code); saw \(codes)")
                }
                received.writeBuffer(&part)
                codes = try RawRTMPClient.messages(in: received).filter { $0.type == .commandAMF0 }
                    .map { try Command($0) }.filter { $0.name == "onStatus" }
                    .compactMap { $0.arguments.first?["code"]?.stringValue }
            }
            try await outbound.write(media)
            return codes
        }
    }
}

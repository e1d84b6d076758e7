import FLV
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// Misbehaving clients next to a good publisher: each is closed with a logged reason, the publisher loses nothing.
@Suite struct BadClientTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: @Sendable () -> ByteBuffer
        var logged: String
        var testDescription: String { name }
    }

    static func afterHandshake(_ messages: [RTMPMessage], chunkSize: UInt32? = nil) -> ByteBuffer {
        var bytes = RawRTMPClient.handshakeBytes
        var chunks = RawRTMPClient.chunks(messages, chunkSize: chunkSize)
        bytes.writeBuffer(&chunks)
        return bytes
    }

    static func connect(object: AMF0Value) -> RTMPMessage {
        Command(name: "connect", transactionID: 1, commandObject: object).message()
    }

    static let cases: [Case] = [
        Case(name: "wrong version byte", bytes: {
            var b = ByteBuffer(bytes: [6])
            b.writeBytes(Array(repeating: 0, count: 1536))
            return b
        }, logged: "unsupported RTMP version byte 6"),
        Case(name: "garbage after handshake", bytes: {
            var b = RawRTMPClient.handshakeBytes
            b.writeBytes([0xC7, 0xDE, 0xAD, 0xBE, 0xEF])
            return b
        }, logged: "chunk stream 7 continued without a type-0 header"),
        // RTMP's own limit (2³¹−1) is the default; a configured one still holds.
        Case(name: "chunk size above a configured limit", bytes: {
            afterHandshake([ControlMessage.setChunkSize(0x7FFF_FFFF).message()])
        }, logged: "peer chunk size 2147483647 exceeds limit 1048576"),
        Case(name: "message above limit", bytes: {
            var b = RawRTMPClient.handshakeBytes
            b.writeBytes([0x06, 0, 0, 0, 0x90, 0, 0, 9, 1, 0, 0, 0])  // 9 MiB video message header
            return b
        }, logged: "message of 9437184 bytes exceeds limit 8388608"),
        Case(name: "too many chunk streams", bytes: {
            var b = RawRTMPClient.handshakeBytes
            for csid in UInt8(3)..<UInt8(63) {
                b.writeBytes([csid, 0, 0, 0, 0, 1, 0, 9, 1, 0, 0, 0] + Array(repeating: 0, count: 128))
            }
            for csid in UInt8(0)..<UInt8(10) {
                b.writeBytes([0, csid, 0, 0, 0, 0, 1, 0, 9, 1, 0, 0, 0] + Array(repeating: 0, count: 128))
            }
            return b
        }, logged: "more than 64 open chunk streams"),
        Case(name: "AMF nested too deep", bytes: {
            var value = AMF0Value.string("live")
            for _ in 0..<40 { value = .object([("app", value)]) }
            return afterHandshake([connect(object: value)])
        }, logged: "AMF nesting deeper than 32"),
        Case(name: "truncated AMF", bytes: {
            afterHandshake([RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 20, messageStreamID: 0, payload: ByteBuffer(bytes: [0x02, 0x00, 0x07, 0x63, 0x6F]))])
        }, logged: "truncated AMF value"),
        Case(name: "handshake too slow", bytes: { ByteBuffer(bytes: [3, 0, 0, 0]) }, logged: "handshake not completed within 1 s"),
        Case(name: "idle after connect", bytes: {
            afterHandshake([connect(object: .object([("app", .string("live"))]))])
        }, logged: "no data for 2 s"),
    ]

    @Test func badClientsBesideAGoodPublisher() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        try await withServer(configure: {
            $0.handshakeTimeout = 1
            $0.idleTimeout = 2
            $0.maxChunkSize = 1 << 20
        }) { server in
            let secret = try await server.server.keys.add(stream: "live/good")
            let recording = server.record(StreamPath("live/good")!)
            async let publish = ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/good?key=\(secret)")
            try await server.eventually("good publisher to be live") { server.server.hub.stream(StreamPath("live/good")!) != nil }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for badCase in Self.cases {
                    group.addTask {
                        let client = try await RawRTMPClient.connect(port: server.rtmpPort)
                        // Returning at all means the server closed the connection.
                        _ = try await client.sendAndAwaitClose(badCase.bytes(), timeout: 20)
                    }
                }
                try await group.waitForAll()
            }
            for badCase in Self.cases {
                #expect(server.logs.all.contains { $0.contains("connection closed") && $0.contains(badCase.logged) }, "no log line for \(badCase.name)")
            }
            _ = try await publish
            expectLossless(await recording.value, facts)
        }
    }
}

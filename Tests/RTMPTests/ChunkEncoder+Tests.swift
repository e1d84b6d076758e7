import FLV
import Media
import NIOCore
import Testing

@testable import RTMP

@Suite struct ChunkEncoderTests {
    static let frame = ByteBuffer(bytes: (0..<1000).map { UInt8($0 % 251) })

    /// A body given as a prefix and a payload is chunked byte for byte as the joined body would be, at every chunk
    /// size, where the prefix ends mid-chunk, at a chunk's end, or spans several chunks, with and without an
    /// extended timestamp.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 128, 999, 1005, 1006, 4096], [UInt32(40), 0x0100_0000])
    func aPrefixedBodyIsChunkedAsTheJoinedBody(chunkSize: Int, timestamp: UInt32) {
        let prefix = ByteBuffer(bytes: [0x17, 0x01, 0x00, 0x00, 0x43])
        var joined = prefix
        joined.writeImmutableBuffer(Self.frame)
        let whole = RTMPMessage(chunkStreamID: 7, timestamp: timestamp, typeID: 9, messageStreamID: 1, payload: joined)
        let split = RTMPMessage(chunkStreamID: 7, timestamp: timestamp, typeID: 9, messageStreamID: 1, payload: Self.frame)
        let expected = ChunkEncoder.chunked(whole, chunkSize: chunkSize)
        #expect(ChunkEncoder.chunked(split, prefix: prefix, chunkSize: chunkSize) == expected)
        // The decoder reads it back as one message with the joined body.
        var decoder = ChunkDecoder()
        var input = ByteBuffer()
        input.writeImmutableBuffer(ControlMessage.setChunkSize(UInt32(chunkSize)).message().chunked(at: 128))
        input.writeImmutableBuffer(ChunkEncoder.chunked(split, prefix: prefix, chunkSize: chunkSize))
        var messages: [RTMPMessage] = []
        while let message = try? decoder.decode(buffer: &input) { messages.append(message) }
        #expect(messages.count == 2)
        #expect(messages.last?.payload == joined)
        #expect(messages.last?.timestamp == timestamp)
    }

    /// An empty payload after a prefix, and an empty prefix: still one message of the right length.
    @Test func edgesOfPrefixAndPayload() {
        let header = ByteBuffer(bytes: [0xAF, 0x01])
        let onlyPrefix = RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 8, messageStreamID: 1, payload: ByteBuffer())
        let joined = RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 8, messageStreamID: 1, payload: header)
        #expect(ChunkEncoder.chunked(onlyPrefix, prefix: header, chunkSize: 128) == ChunkEncoder.chunked(joined, chunkSize: 128))
        #expect(ChunkEncoder.chunked(joined, prefix: ByteBuffer(), chunkSize: 1) == ChunkEncoder.chunked(joined, chunkSize: 1))
    }

    /// What players and pushes are sent for a frame is the tag body (`PlayMessages.media`) chunked, whichever
    /// way it is made.
    @Test(arguments: [
        MediaPacket(track: .video, codec: .h264, kind: .frame, dts: 1040, pts: 1120, isKeyframe: true, payload: frame),
        MediaPacket(track: .video, codec: .hevc, kind: .frame, dts: 80, pts: 80, isKeyframe: false, payload: frame),
        MediaPacket(track: .audio, codec: .aac, kind: .frame, dts: 23, pts: 23, isKeyframe: true, payload: ByteBuffer(bytes: [0x21, 0x00])),
        MediaPacket(track: .audio, codec: .aac, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: [0x12, 0x10])),
    ])
    func chunkedMediaIsTheChunkedTagBody(packet: MediaPacket) throws {
        let message = try #require(PlayMessages.media(packet, messageStreamID: 1))
        for chunkSize in [128, 4096] {
            #expect(PlayMessages.chunkedMedia(packet, messageStreamID: 1, chunkSize: chunkSize) == ChunkEncoder.chunked(message, chunkSize: chunkSize))
        }
    }

    /// A codec FLV does not carry has no message either way.
    @Test func noMessageForACodecFLVDoesNotCarry() {
        let opus = MediaPacket(track: .audio, codec: .opus, kind: .frame, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: [1]))
        #expect(PlayMessages.media(opus, messageStreamID: 1) == nil)
        #expect(PlayMessages.chunkedMedia(opus, messageStreamID: 1, chunkSize: 128) == nil)
    }
}

extension RTMPMessage {
    fileprivate func chunked(at size: Int) -> ByteBuffer { ChunkEncoder.chunked(self, chunkSize: size) }
}

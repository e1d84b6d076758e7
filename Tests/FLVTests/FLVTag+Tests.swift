import Media
import NIOCore
import Testing

@testable import FLV

@Suite struct FLVTagTests {
    @Test func avcSequenceHeader() throws {
        let tag = try #require(try FLVTag.video(ByteBuffer(bytes: [0x17, 0x00, 0, 0, 0, 0x01, 0x64])))
        #expect(tag.codec == .h264)
        #expect(tag.kind == .sequenceHeader)
        #expect(tag.isKeyframe)
        #expect(Array(tag.body.readableBytesView) == [0x01, 0x64])
    }

    @Test func avcFrameWithNegativeCompositionOffset() throws {
        let tag = try #require(try FLVTag.video(ByteBuffer(bytes: [0x27, 0x01, 0xFF, 0xFF, 0xDF, 0, 0, 0, 1, 0x41])))
        #expect(tag.kind == .frame)
        #expect(!tag.isKeyframe)
        #expect(tag.compositionOffset == -33)
        #expect(tag.body.readableBytes == 5)
    }

    @Test func bodyIsASliceNotACopy() throws {
        let payload = ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0x21, 9, 9, 9])
        let tag = try #require(try FLVTag.video(payload))
        #expect(tag.compositionOffset == 33)
        tag.body.withUnsafeReadableBytes { body in
            payload.withUnsafeReadableBytes { whole in
                #expect(body.baseAddress == whole.baseAddress! + 5)
            }
        }
    }

    @Test func enhancedHEVC() throws {
        // IsExHeader | keyframe(1) << 4 | CodedFrames(1), 'hvc1', CTS 66.
        let frames = try #require(try FLVTag.video(ByteBuffer(bytes: [0x91] + Array("hvc1".utf8) + [0, 0, 66, 7])))
        #expect(frames.codec == .hevc)
        #expect(frames.isKeyframe)
        #expect(frames.compositionOffset == 66)
        #expect(!frames.isUnsupported)
        // CodedFramesX: no composition offset field.
        let framesX = try #require(try FLVTag.video(ByteBuffer(bytes: [0xA3] + Array("hvc1".utf8) + [7, 7])))
        #expect(!framesX.isKeyframe)
        #expect(framesX.compositionOffset == 0)
        #expect(framesX.body.readableBytes == 2)
        let start = try #require(try FLVTag.video(ByteBuffer(bytes: [0x90] + Array("av01".utf8) + [1])))
        #expect(start.codec == .av1)
        #expect(start.kind == .sequenceHeader)
    }

    @Test func aacHeaderAndFrame() throws {
        let header = try #require(try FLVTag.audio(ByteBuffer(bytes: [0xAF, 0x00, 0x11, 0x90])))
        #expect(header.codec == .aac)
        #expect(header.kind == .sequenceHeader)
        let frame = try #require(try FLVTag.audio(ByteBuffer(bytes: [0xAF, 0x01, 0x21])))
        #expect(frame.kind == .frame)
        #expect(frame.body.readableBytes == 1)
    }

    @Test func truncatedHeadersAreErrors() {
        #expect(throws: FLVError.self) { try FLVTag.video(ByteBuffer(bytes: [0x17, 0x01])) }
        #expect(throws: FLVError.self) { try FLVTag.video(ByteBuffer(bytes: [0x91, 0x68])) }
        #expect(throws: FLVError.self) { try FLVTag.audio(ByteBuffer(bytes: [0xAF])) }
    }

    @Test func emptyPayloadIsNotAFrame() throws {
        #expect(try FLVTag.video(ByteBuffer()) == nil)
        #expect(try FLVTag.audio(ByteBuffer()) == nil)
    }
}

import Foundation
import Media
import NIOCore
import Testing

@testable import FLV

@Suite struct FLVTagEncoderTests {
    static let packets: [MediaPacket] = [
        MediaPacket(track: .video, codec: .h264, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: [1, 0x64, 0, 0x1F])),
        MediaPacket(track: .video, codec: .h264, kind: .frame, dts: 1000, pts: 1080, isKeyframe: true, payload: ByteBuffer(bytes: [0, 0, 0, 1, 0x65])),
        MediaPacket(track: .video, codec: .h264, kind: .frame, dts: 1040, pts: 1000, isKeyframe: false, payload: ByteBuffer(bytes: [0, 0, 0, 1, 0x41])),
        MediaPacket(track: .video, codec: .hevc, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: [1, 2, 3])),
        MediaPacket(track: .video, codec: .hevc, kind: .frame, dts: 40, pts: 120, isKeyframe: true, payload: ByteBuffer(bytes: [0, 0, 0, 1, 0x26])),
        MediaPacket(track: .video, codec: .hevc, kind: .frame, dts: 80, pts: 80, isKeyframe: false, payload: ByteBuffer(bytes: [0, 0, 0, 1, 0x02])),
        MediaPacket(track: .audio, codec: .aac, kind: .sequenceHeader, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer(bytes: [0x12, 0x10])),
        MediaPacket(track: .audio, codec: .aac, kind: .frame, dts: 23, pts: 23, isKeyframe: true, payload: ByteBuffer(bytes: [0x21, 0x00])),
    ]

    /// What the encoder writes, the decoder the ingest uses reads back: codec, kind, keyframe flag, composition
    /// offset (negative ones too) and payload.
    @Test(arguments: packets)
    func roundTrip(packet: MediaPacket) throws {
        let body = try #require(FLVTagEncoder.body(for: packet))
        let tag = try #require(packet.track == .video ? try FLVTag.video(body) : try FLVTag.audio(body))
        #expect(tag.codec == packet.codec)
        #expect(tag.kind == packet.kind)
        #expect(tag.isKeyframe == packet.isKeyframe)
        #expect(Int64(tag.compositionOffset) == (packet.kind == .frame ? packet.compositionOffset : 0))
        #expect(tag.body == packet.payload)
        #expect(!tag.isUnsupported)
    }

    @Test func knownHeaderBytes() throws {
        let frame = Self.packets[2]
        #expect(Array(try #require(FLVTagEncoder.header(for: frame)).readableBytesView) == [0x27, 0x01, 0xFF, 0xFF, 0xD8])
        let hevcKey = Self.packets[4]
        // IsExHeader | keyframe | CodedFrames, "hvc1", composition time 80.
        #expect(Array(try #require(FLVTagEncoder.header(for: hevcKey)).readableBytesView) == [0x91, 0x68, 0x76, 0x63, 0x31, 0, 0, 80])
        let hevcPlain = Self.packets[5]
        #expect(Array(try #require(FLVTagEncoder.header(for: hevcPlain)).readableBytesView) == [0xA3, 0x68, 0x76, 0x63, 0x31])
    }

    @Test func codecsFLVDoesNotCarryHereAreNil() {
        let opus = MediaPacket(track: .audio, codec: .opus, kind: .frame, dts: 0, pts: 0, isKeyframe: true, payload: ByteBuffer())
        #expect(FLVTagEncoder.body(for: opus) == nil)
    }

    /// FLV 10.1 E.2/E.3: header bytes, tag header with the timestamp's high byte last, PreviousTagSize.
    @Test func fileFraming() {
        #expect(Array(FLVFile.header(hasAudio: true, hasVideo: true).readableBytesView) == [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0])
        #expect(FLVFile.header(hasAudio: true, hasVideo: false).getInteger(at: 4, as: UInt8.self) == 4)
        let tag = FLVFile.tag(type: .video, timestamp: 0x0102_0304, body: ByteBuffer(bytes: [0xAA, 0xBB]))
        #expect(Array(tag.readableBytesView) == [9, 0, 0, 2, 0x02, 0x03, 0x04, 0x01, 0, 0, 0, 0xAA, 0xBB, 0, 0, 0, 13])
    }

    /// `onCuePoint` carries the cue JSON's fields as AMF0, numbers as numbers and objects as objects.
    @Test func cuePointScriptData() throws {
        var body = ScriptData.onCuePoint(
            name: "product.pin", timeMS: 12_345, json: #"{"id":"c1","kind":"product.pin","payload":{"sku":"A1","price":199,"hot":true},"pts":900}"#)
        let values = try AMF0Decoder().decodeAll(&body)
        #expect(values.first?.stringValue == "onCuePoint")
        let cue = try #require(values.last)
        #expect(cue["name"]?.stringValue == "product.pin")
        #expect(cue["time"]?.numberValue == 12.345)
        #expect(cue["type"]?.stringValue == "event")
        let parameters = try #require(cue["parameters"])
        #expect(parameters["id"]?.stringValue == "c1")
        #expect(parameters["pts"]?.numberValue == 900)
        #expect(parameters["payload"]?["price"]?.numberValue == 199)
        #expect(parameters["payload"]?["sku"]?.stringValue == "A1")
        #expect(parameters["payload"]?["hot"] == .boolean(true))
    }

    @Test func metadataIsAnECMAArray() throws {
        var body = ScriptData.onMetaData([("width", .number(1280)), ("encoder", .string("obs"))])
        let values = try AMF0Decoder().decodeAll(&body)
        #expect(values.first?.stringValue == "onMetaData")
        guard case .ecmaArray(let properties) = values.last else {
            Issue.record("expected an ECMA array, got \(values)")
            return
        }
        #expect(properties.map(\.key) == ["width", "encoder"])
    }
}

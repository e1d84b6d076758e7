import FFmpeg
import Foundation
import Media
import NIOCore
import Testing
import TestSupport

@testable import RTMP

/// HEVC over Enhanced RTMP (`hvc1`): no publisher available here speaks it, so the test sends the MP4 fixture's
/// samples as Enhanced RTMP video messages itself; ffprobe then reads the HLS output.
@Suite struct EnhancedRTMPTests {
    @Test func hevcIsRemuxedToHLS() async throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.hevc))
        let stream = try #require(input.streams.first)
        #expect(stream.codecName == "hevc")
        var samples: [InputFile.PacketInfo] = []
        while let packet = try input.readPacket() { samples.append(packet) }
        func ms(_ value: Int64?) -> Int64 {
            (value ?? 0) * 1000 * Int64(stream.timeBase.numerator) / Int64(stream.timeBase.denominator)
        }
        let firstDTS = ms(samples.first?.dts)

        var media: [RTMPMessage] = []
        var header = ByteBuffer(bytes: [0x80 | 0x10 | 0])  // IsExHeader, keyframe, SequenceStart
        header.writeBytes(Array("hvc1".utf8))
        header.writeBytes(stream.extradata)
        media.append(RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: header))
        for sample in samples {
            let dts = ms(sample.dts) - firstDTS
            let cts = ms(sample.pts) - ms(sample.dts)
            var body = ByteBuffer(bytes: [0x80 | (sample.isKeyframe ? 0x10 : 0x20) | 1])  // CodedFrames
            body.writeBytes(Array("hvc1".utf8))
            body.writeBytes([UInt8((cts >> 16) & 0xFF), UInt8((cts >> 8) & 0xFF), UInt8(cts & 0xFF)])
            body.writeBytes(sample.data)
            media.append(RTMPMessage(chunkStreamID: 6, timestamp: UInt32(dts), typeID: 9, messageStreamID: 1, payload: body))
        }

        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/hevc")
            let recording = server.record(StreamPath("live/hevc")!)
            let client = try await RawRTMPClient.connect(port: server.rtmpPort)
            let codes = try await client.publish(
                setup: RefusalTests.publishBytes(name: "hevc?key=\(secret)"), awaiting: "NetStream.Publish.Start",
                media: RawRTMPClient.chunks(media, chunkSize: 65536))
            #expect(codes == ["NetStream.Publish.Start"])
            let events = await recording.value
            #expect(events.frames(.video).count == samples.count)
            #expect(events.frames(.video).allSatisfy { $0.codec == .hevc })

            var playlist = ""
            try await server.eventually("playlist to end") {
                playlist = try await server.request(.GET, "/hls/live/hevc/index.m3u8").body
                return playlist.contains("#EXT-X-ENDLIST")
            }
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            var frames = 0
            for entry in entries(of: playlist) {
                let packets = try await probeSegment(server, stream: "live/hevc", uri: entry.uri, into: dir)
                #expect(packets.firstVideo?.isKeyframe == true)
                #expect(try await FFprobe.codecNames(of: "\(dir.path)/\(entry.uri)") == ["hevc", "timed_id3"])
                frames += packets.videoCount
            }
            #expect(frames == samples.count)
            // Chromium and Safari refuse a bare `hvc1`: the full RFC 6381 string, the size from the HEVC SPS.
            let master = try await server.request(.GET, "/hls/live/hevc/master.m3u8").body
            #expect(master.contains("CODECS=\"hvc1.1.6.L60.90\""), "\(master)")
            #expect(master.contains("RESOLUTION=320x180"), "\(master)")
            #expect(master.contains("FRAME-RATE="), "\(master)")
            // MPEG-TS stream type 0x24 is HEVC.
            let last = try #require(entries(of: playlist).last)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/\(last.uri)")))
            #expect(containsPMTEntry(bytes, streamType: 0x24))
            let decode = try await Tool("ffmpeg").run(["-v", "error", "-i", "\(dir.path)/\(last.uri)", "-f", "null", "-"], requireSuccess: false)
            #expect(decode.stderr.isEmpty, "\(decode.stderr)")
        }
    }

    /// Finds a PMT elementary-stream entry with `streamType` in the first packets of a transport stream.
    func containsPMTEntry(_ ts: [UInt8], streamType: UInt8) -> Bool {
        var pmtPID: Int?
        for offset in stride(from: 0, to: min(ts.count, 188 * 10), by: 188) where ts[offset] == 0x47 {
            let pid = Int(ts[offset + 1] & 0x1F) << 8 | Int(ts[offset + 2])
            let payload = offset + 4 + 1 + Int(ts[offset + 4])  // pointer field
            if pid == 0 {
                pmtPID = Int(ts[payload + 10] & 0x1F) << 8 | Int(ts[payload + 11])
            } else if pid == pmtPID {
                let sectionLength = Int(ts[payload + 1] & 0x0F) << 8 | Int(ts[payload + 2])
                let infoLength = Int(ts[payload + 10] & 0x0F) << 8 | Int(ts[payload + 11])
                var entry = payload + 12 + infoLength
                let end = payload + 3 + sectionLength - 4
                while entry + 5 <= end {
                    if ts[entry] == streamType { return true }
                    entry += 5 + (Int(ts[entry + 3] & 0x0F) << 8 | Int(ts[entry + 4]))
                }
            }
        }
        return false
    }
}

import Foundation
import Media
import Testing
import TestSupport

@Suite struct HLSTests {
    @Test func bFrameFixtureBecomesExactHLS() async throws {
        let facts = try await FixtureFacts.of(Fixtures.bframes)
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/hls")
            let poller = server.pollPlaylist("/hls/live/hls/index.m3u8")
            _ = try await ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/hls?key=\(secret)")
            let versions = await poller.value
            let final = try #require(versions.last)
            #expect(final.hasSuffix("#EXT-X-ENDLIST\n"))
            #expect(versions.count >= 3, "playlist was seen growing live")
            try await checkRFC8216(versions)

            let list = entries(of: final)
            #expect(list.count == 3)
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            var firstPTS: [Int64] = []
            var video = 0
            var audio = 0
            for (index, entry) in list.enumerated() {
                let packets = try await probeSegment(server, stream: "live/hls", uri: entry.uri, into: dir)
                #expect(packets.firstVideo?.isKeyframe == true, "segment \(index) starts with a keyframe")
                #expect(packets.first?.mediaType == "video" || packets.first.map { abs($0.dtsMilliseconds - packets.firstVideo!.dtsMilliseconds) < 100 } == true)
                firstPTS.append(packets.firstVideo?.ptsMilliseconds ?? 0)
                video += packets.videoCount
                audio += packets.audioCount
                if index < list.count - 1 {
                    #expect(abs(entry.duration - 2) <= 1.0 / 30 + 0.001, "segment \(index) lasts the target within a frame: \(entry.duration)")
                } else {
                    #expect(entry.duration <= 2 + 1.0 / 30)
                }
            }
            #expect(video == facts.video.count)
            #expect(audio == facts.audio.count)
            // The first frame of segment i starts where the EXTINFs before it add up to.
            for index in 1..<list.count {
                let expected = list[..<index].reduce(0) { $0 + $1.duration }
                let actual = Double(firstPTS[index] - firstPTS[0]) / 1000
                #expect(abs(actual - expected) <= 0.002, "segment \(index): PTS offset \(actual) vs playlist \(expected)")
            }
            // A reader of the whole playlist gets back exactly the published frames.
            let whole = try await Tool("ffprobe").run([
                "-v", "error", "-count_packets", "-show_entries", "stream=codec_type,nb_read_packets", "-of", "csv=p=0",
                "\(server.httpBase)/hls/live/hls/index.m3u8",
            ])
            let counts = Set(whole.text.split(separator: "\n").map(String.init))
            #expect(counts.contains("video,\(facts.video.count)"), "\(counts)")
            #expect(counts.contains("audio,\(facts.audio.count)"), "\(counts)")

            let master = String(decoding: try await server.fetch("/hls/live/hls/master.m3u8").body, as: UTF8.self)
            #expect(master.contains(#"CODECS="avc1.64001e,mp4a.40.2""#), "\(master)")
            #expect(master.contains("RESOLUTION=640x360"))
            #expect(master.contains("FRAME-RATE="))
            let bandwidth = master.split(separator: ",").first { $0.contains("BANDWIDTH=") && !$0.contains("AVERAGE") }
                .flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
            // The fixture is about 400 kbit/s of media; TS overhead adds some.
            #expect((300_000...1_000_000).contains(bandwidth), "\(master)")
        }
    }

    @Test func republishWithinGraceContinuesAfterADiscontinuity() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 30 }) { server in
            let secret = try await server.server.keys.add(stream: "live/re")
            let url = "\(server.rtmpBase)/live/re?key=\(secret)"
            _ = try await ffmpegPublish(Fixtures.small, to: url, realtime: false)
            try await server.eventually("first publish's segments") { try await server.request(.GET, "/hls/live/re/index.m3u8").status == 200 }
            let first = try await server.request(.GET, "/hls/live/re/index.m3u8").body
            // Same resolution again, then another resolution: both continue the playlist after a discontinuity.
            _ = try await ffmpegPublish(Fixtures.small, to: url, realtime: false)
            _ = try await ffmpegPublish(Fixtures.bframes, to: url, realtime: false)
            var after = ""
            try await server.eventually("three publishes in the playlist") {
                after = try await server.request(.GET, "/hls/live/re/index.m3u8").body
                return entries(of: after).filter(\.discontinuity).count == 2 && after.components(separatedBy: "#EXTINF").count - 1 >= 5
            }
            #expect(!after.contains("#EXT-X-ENDLIST"))
            #expect((mediaSequence(of: after) ?? -1) >= (mediaSequence(of: first) ?? 0))
            let list = entries(of: after)
            let epochs = Set(list.map { $0.uri.split(separator: "-").first! })
            #expect(epochs.count == 1, "one playlist, one epoch")
            let numbers = list.map { Int($0.uri.dropLast(3).split(separator: "-").last!)! }
            #expect(numbers == Array(numbers[0]..<numbers[0] + numbers.count), "sequence continues without gaps")
            try await checkRFC8216([first, after])
            let master = try await server.request(.GET, "/hls/live/re/master.m3u8").body
            #expect(master.contains("RESOLUTION=640x360"))
        }
    }

    /// Past retention a path's playlist goes, and its remuxer with it: the hub keeps no follower for the path, so
    /// a server that has seen many stream keys holds nothing for the idle ones. The next publish makes a new one.
    @Test func aPathsRemuxerGoesWithItsPlaylistAndComesBackOnRepublish() async throws {
        try await withServer(configure: {
            $0.hls.gracePeriod = 1
            $0.hls.retention = 1
        }) { server in
            let path = StreamPath("live/retire")!
            let secret = try await server.server.keys.add(stream: "live/retire")
            let url = "\(server.rtmpBase)/live/retire?key=\(secret)"
            _ = try await ffmpegPublish(Fixtures.small, to: url, realtime: false)
            #expect(server.server.hub.followerCount(of: path) == 1, "the remuxer follows the path")
            try await server.eventually("the playlist removed after retention") {
                try await server.request(.GET, "/hls/live/retire/index.m3u8").status == 404
            }
            try await server.eventually("the remuxer gone") { server.server.hub.followerCount(of: path) == 0 }
            _ = try await ffmpegPublish(Fixtures.small, to: url, realtime: false)
            try await server.eventually("a new playlist") {
                entries(of: try await server.request(.GET, "/hls/live/retire/index.m3u8").body).count >= 1
            }
            #expect(server.server.hub.followerCount(of: path) == 1)
        }
    }

    @Test func publisherKilledMidGOPLeavesCleanSegments() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/kill")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Tool.find("ffmpeg")!)
            process.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", Fixtures.path(Fixtures.bframes), "-c", "copy", "-f", "flv", "\(server.rtmpBase)/live/kill?key=\(secret)"]
            try process.run()
            try await server.eventually("two segments") {
                entries(of: try await server.request(.GET, "/hls/live/kill/index.m3u8").body).count >= 2
            }
            try await Task.sleep(for: .milliseconds(700))  // into the next GOP
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            var final = ""
            try await server.eventually("playlist to end") {
                final = try await server.request(.GET, "/hls/live/kill/index.m3u8").body
                return final.contains("#EXT-X-ENDLIST")
            }
            let list = entries(of: final)
            #expect(list.count >= 3)
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let last = try #require(list.last)
            let response = try await server.fetch("/hls/live/kill/\(last.uri)")
            let path = dir.path + "/last.ts"
            try Data(response.body).write(to: URL(fileURLWithPath: path))
            #expect(response.body.count % 188 == 0)
            let decode = try await Tool("ffmpeg").run(["-v", "error", "-i", path, "-f", "null", "-"], requireSuccess: false)
            #expect(decode.status == 0)
            #expect(decode.stderr.isEmpty, "\(decode.stderr)")
            let packets = try await FFprobe.packets(of: path)
            #expect(packets.firstVideo?.isKeyframe == true)
            #expect(last.duration > 0 && last.duration < 2)
        }
    }

    @Test func gstreamerHLSDemuxReadsToTheEnd() async throws {
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/gsthls")
            _ = try await ffmpegPublish(Fixtures.bframes, to: "\(server.rtmpBase)/live/gsthls?key=\(secret)", realtime: false)
            try await server.eventually("playlist to end") {
                try await server.request(.GET, "/hls/live/gsthls/index.m3u8").body.contains("#EXT-X-ENDLIST")
            }
            let output = try await Tool("gst-launch-1.0").run([
                "-q", "souphttpsrc", "location=\(server.httpBase)/hls/live/gsthls/index.m3u8", "!", "hlsdemux", "!", "tsdemux", "name=d",
                "d.", "!", "queue", "!", "h264parse", "!", "fakesink", "d.", "!", "queue", "!", "aacparse", "!", "fakesink",
            ], timeout: 60, requireSuccess: false)
            #expect(output.status == 0, "\(output.stderr)")
        }
    }
}

@Suite struct HLSSingleTrackTests {
    @Test(arguments: [(Fixtures.videoOnly, "v", ["h264", "timed_id3"]), (Fixtures.audioOnly, "a", ["aac", "timed_id3"])])
    func singleTrackStreams(fixture: String, name: String, codecs: [String]) async throws {
        let facts = try await FixtureFacts.of(fixture)
        try await withServer(configure: { $0.hls.gracePeriod = 1 }) { server in
            let secret = try await server.server.keys.add(stream: "live/\(name)")
            _ = try await ffmpegPublish(fixture, to: "\(server.rtmpBase)/live/\(name)?key=\(secret)", realtime: false)
            var playlist = ""
            try await server.eventually("playlist to end") {
                playlist = try await server.request(.GET, "/hls/live/\(name)/index.m3u8").body
                return playlist.contains("#EXT-X-ENDLIST")
            }
            let list = entries(of: playlist)
            // 6 s of video makes three 2 s segments; 283 AAC frames last 6.04 s, so audio makes a fourth, short one.
            #expect(list.count == (facts.video.isEmpty ? 4 : 3))
            let total = list.reduce(0) { $0 + $1.duration }
            let mediaDuration = facts.video.isEmpty ? Double(facts.audio.count) * 1024 / 48000 : Double(facts.video.count) / 30
            #expect(abs(total - mediaDuration) < 0.05, "playlist lasts \(total) s for \(mediaDuration) s of media")
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            var video = 0
            var audio = 0
            for entry in list {
                let packets = try await probeSegment(server, stream: "live/\(name)", uri: entry.uri, into: dir)
                video += packets.videoCount
                audio += packets.audioCount
                #expect(try await FFprobe.codecNames(of: "\(dir.path)/\(entry.uri)") == codecs)
                if facts.video.isEmpty {
                    // Audio-only streams are cut on time.
                    #expect(entry.duration <= 2.1)
                } else {
                    #expect(packets.firstVideo?.isKeyframe == true)
                }
            }
            #expect(video == facts.video.count)
            #expect(audio == facts.audio.count)
            try await checkRFC8216([playlist])
        }
    }
}

import Foundation
import Media
import Server
import Testing
import TestSupport

/// What encoders, relays and SDKs really send (issue 17, `../shared/cases/`), published end to end by
/// `scripts/testing/rtmp_publish.py` (an RTMP publisher that shares no code with CueCast) or by ffmpeg itself, and
/// read back as HLS with ffprobe and Python's `m3u8`. Each test is the whole kind of fault, with the right value as
/// its assertion: the show goes on, every frame that can be decoded is in the segments, at its real spacing.
/// One at a time (`LongRealTimeTests`): each runs in real time beside an ffmpeg encode.
extension LongRealTimeTests {
@Suite struct EncodersFromTheWildTests {
    static let publisher = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("scripts/testing/rtmp_publish.py").path

    /// A 320x180 H.264/AAC test clip made by ffmpeg: 30 fps, a keyframe every `gop` frames, `bFrames` B-frames.
    static func clip(seconds: Int, gop: Int = 30, bFrames: Int = 0, in dir: TemporaryDirectory) async throws -> String {
        let path = "\(dir.path)/clip-\(seconds)-\(gop)-\(bFrames).flv"
        _ = try await Tool("ffmpeg").run([
            "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "\(seconds)",
            "-c:v", "libx264", "-preset", bFrames > 0 ? "veryfast" : "ultrafast", "-bf", "\(bFrames)", "-g", "\(gop)",
            "-keyint_min", "\(gop)", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", "-y", path,
        ], timeout: 60)
        return path
    }

    struct Published {
        var status: String?
        var videoSent: Int
        var closed: Bool
        var finished: Bool
    }

    /// Publishes `clip` in real time with the publisher's fault options; returns what it reports.
    static func publish(_ clip: String, to stream: String, on server: TestServer, _ options: [String]) async throws -> Published {
        let secret = try await server.server.keys.add(stream: stream)
        let output = try await Tool("python3").run(
            [publisher, clip, "\(server.rtmpBase)/\(stream)?key=\(secret)"] + options, timeout: 90, requireSuccess: false)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any], "\(output.text)\(output.stderr)")
        return Published(
            status: json["status"] as? String, videoSent: (json["sent"] as? [String: Int])?["video"] ?? 0,
            closed: json["closed"] as? Bool ?? true, finished: json["finished"] as? Bool ?? false)
    }

    /// A playlist as fetched, and when.
    struct Fetched {
        var at: Date
        var text: String
    }

    /// Polls a playlist every 400 ms until it ends, keeping each distinct version with its fetch time.
    static func poll(_ server: TestServer, _ stream: String) -> Task<[Fetched], Never> {
        Task {
            var versions: [Fetched] = []
            while !Task.isCancelled {
                if let response = try? await server.fetch("/hls/\(stream)/index.m3u8"), response.status == 200 {
                    let text = String(decoding: response.body, as: UTF8.self)
                    if versions.last?.text != text { versions.append(Fetched(at: Date(), text: text)) }
                    if text.contains("#EXT-X-ENDLIST") { break }
                }
                try? await Task.sleep(for: .milliseconds(400))
            }
            return versions
        }
    }

    /// What the finished playlist holds: its segments' entries and ffprobe's packets of each.
    struct Output {
        var versions: [Fetched]
        var entries: [PlaylistEntry]
        var segments: [[ProbedPacket]]

        var videoFrames: Int { segments.reduce(0) { $0 + $1.videoCount } }
        var audioFrames: Int { segments.reduce(0) { $0 + $1.audioCount } }
        var duration: Double { entries.reduce(0) { $0 + $1.duration } }
        var targetDurations: [Int] {
            versions.compactMap { v in
                v.text.split(separator: "\n").first { $0.hasPrefix("#EXT-X-TARGETDURATION:") }.flatMap { Int($0.dropFirst(22)) }
            }
        }
    }

    /// Waits for the playlist to end (the publish is over and its grace period passed) and reads every segment.
    static func read(_ server: TestServer, _ stream: String, _ poller: Task<[Fetched], Never>, in dir: TemporaryDirectory) async throws -> Output {
        let versions = await poller.value
        let last = try #require(versions.last, "a playlist for \(stream)")
        #expect(last.text.contains("#EXT-X-ENDLIST"))
        let list = entries(of: last.text)
        var segments: [[ProbedPacket]] = []
        for entry in list {
            segments.append(try await probeSegment(server, stream: stream, uri: entry.uri, into: dir))
        }
        try await checkRFC8216(versions.map(\.text))
        return Output(versions: versions, entries: list, segments: segments)
    }

    static func configure(_ configuration: inout ServerConfiguration) {
        configuration.hls.gracePeriod = 1
        configuration.hls.windowSize = 30
    }

    /// Case 01. Past 0xFFFFFF ms (4 h 40 min into a show) every header carries an extended timestamp; FFmpeg
    /// repeats it in continuation chunks, librtmp-era encoders leave it out. Both publish to the end.
    @Test func extendedTimestampsWithAndWithoutRepeats() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 6, in: dir)
        try await withServer(configure: Self.configure) { server in
            for (name, omit) in [("live/ext-repeated", false), ("live/ext-omitted", true)] {
                let poller = Self.poll(server, name)
                let sent = try await Self.publish(
                    clip, to: name, on: server, ["--start-ms", "\(0xFF_FFFF - 3000)"] + (omit ? ["--omit-ext-continuation"] : []))
                #expect(sent.status == "NetStream.Publish.Start", "\(name)")
                #expect(!sent.closed && sent.finished, "\(name): the server kept the connection to the end")
                let out = try await Self.read(server, name, poller, in: dir)
                #expect(Double(out.videoFrames) >= 0.95 * Double(sent.videoSent), "\(name): \(out.videoFrames) of \(sent.videoSent)")
                #expect(!out.entries.contains { $0.discontinuity }, "\(name): one timeline across the crossing")
                let pts = out.segments.flatMap { $0 }.filter { $0.mediaType == "video" }.map(\.ptsMilliseconds).sorted()
                #expect(zip(pts, pts.dropFirst()).allSatisfy { $1 - $0 <= 200 }, "\(name): no hole at the crossing")
                #expect(out.duration >= 5, "\(name): \(out.duration) s of 6")
            }
        }
    }

    /// Case 02. A Flash/AIR-style publisher (objectEncoding 3): commands as type 17, metadata as an AMF3 object
    /// in a type 15 message. The metadata is read, the stream goes on.
    @Test func anAMF3Publisher() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 5, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/amf3")
            let sent = try await Self.publish(clip, to: "live/amf3", on: server, ["--amf3"])
            #expect(sent.status == "NetStream.Publish.Start")
            #expect(!sent.closed && sent.finished)
            #expect(server.logs.contains("AS3 NetStream (rtmp_publish.py)"), "the AMF3 metadata was read")
            let out = try await Self.read(server, "live/amf3", poller, in: dir)
            #expect(Double(out.videoFrames) >= 0.95 * Double(sent.videoSent), "\(out.videoFrames) of \(sent.videoSent)")
        }
    }

    /// Case 03. Publish, metadata, sequence headers and the first 500 ms of frames in one write, before the server
    /// answered (nginx-rtmp's push, mobile SDKs): held while the key is checked, then used, first frames included.
    @Test func mediaRightBehindPublish() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 5, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/burst")
            let sent = try await Self.publish(clip, to: "live/burst", on: server, ["--burst-ms", "500"])
            #expect(sent.status == "NetStream.Publish.Start")
            let out = try await Self.read(server, "live/burst", poller, in: dir)
            #expect(Double(out.videoFrames) >= 0.95 * Double(sent.videoSent), "\(out.videoFrames) of \(sent.videoSent)")
            #expect(out.audioFrames > 0)
            let first = try #require(out.segments.first?.firstVideo)
            #expect(first.isKeyframe)
        }
    }

    /// Case 04. A GOP of frames before any sequence header: dropped (counted), the stream starts at the first
    /// keyframe with a usable configuration, and every segment starts with a keyframe.
    @Test func framesBeforeTheSequenceHeaders() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 6, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/late")
            let counted = Task {
                var dropped = 0
                while !Task.isCancelled {
                    let body = (try? await server.request(.GET, "/api/v1/streams/live/late").body) ?? ""
                    if let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                        let counters = json["counters"] as? [String: Any], let value = counters["droppedMessages"] as? Int
                    {
                        dropped = value
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return dropped
            }
            let sent = try await Self.publish(clip, to: "live/late", on: server, ["--headers-late"])
            counted.cancel()
            #expect(sent.status == "NetStream.Publish.Start")
            #expect(!sent.closed && sent.finished)
            let out = try await Self.read(server, "live/late", poller, in: dir)
            let afterHeaders = sent.videoSent - 30
            #expect(Double(out.videoFrames) >= 0.95 * Double(afterHeaders), "\(out.videoFrames) of \(afterHeaders)")
            #expect(out.audioFrames > 0)
            #expect(out.segments.allSatisfy { $0.firstVideo?.isKeyframe == true }, "every segment starts with a keyframe")
            #expect(await counted.value >= 30, "the early frames were counted as dropped")
            #expect(server.logs.contains("dropping media no decoder can use"))
        }
    }

    /// Case 07. B-frames with negative composition offsets (OBS/NVENC, Ecamm): every decode time moved 67 ms later.
    /// The TS keeps every frame, never PTS < DTS, and the presentation times exactly 33 ms apart.
    @Test func negativeCompositionOffsets() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 6, bFrames: 2, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/cts")
            let sent = try await Self.publish(clip, to: "live/cts", on: server, ["--cts-shift", "67"])
            #expect(sent.status == "NetStream.Publish.Start")
            let out = try await Self.read(server, "live/cts", poller, in: dir)
            #expect(out.videoFrames == sent.videoSent, "no frame lost")
            #expect(out.duration >= 5)
            let video = out.segments.flatMap { $0 }.filter { $0.mediaType == "video" }
            #expect(video.allSatisfy { $0.ptsMilliseconds >= $0.dtsMilliseconds }, "PTS ≥ DTS")
            let pts = video.map(\.ptsMilliseconds).sorted()
            #expect(zip(pts, pts.dropFirst()).allSatisfy { (25...45).contains($1 - $0) }, "presentation order kept")
        }
    }

    /// Case 08. The encoder's clock steps 60 s forward mid-stream: a discontinuity, not a 62 s segment; the target
    /// duration never moves; program date times stay on the wall clock.
    @Test func aTimestampJumpForward() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 10, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/jump")
            let sent = try await Self.publish(clip, to: "live/jump", on: server, ["--jump-at", "5", "--jump-by", "60000"])
            #expect(sent.status == "NetStream.Publish.Start")
            let out = try await Self.read(server, "live/jump", poller, in: dir)
            #expect(out.entries.allSatisfy { $0.duration <= 4.5 }, "\(out.entries.map(\.duration))")
            #expect(Set(out.targetDurations) == [2], "\(out.targetDurations)")
            #expect(out.entries.contains { $0.discontinuity }, "the break is marked")
            #expect(Double(out.videoFrames) >= 0.95 * Double(sent.videoSent))
            #expect(server.logs.contains("encoder timestamps jumped"))
            for version in out.versions {
                let dates = version.text.split(separator: "\n").filter { $0.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") }
                let lastEntry = entries(of: version.text).last
                let newest = try #require(dates.last.flatMap { Self.date(String($0.dropFirst(25))) })
                let end = newest.addingTimeInterval(lastEntry?.duration ?? 0)
                #expect(end.timeIntervalSince(version.at) <= 3, "program date time \(end) vs fetched \(version.at)")
            }
        }
    }

    /// Case 09. The encoder restarts inside one connection: headers again at timestamp 0, then the clip from its
    /// next keyframe counting from 0. A new timeline, not 8 s squeezed into milliseconds.
    @Test func aTimestampResetToZero() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clip = try await Self.clip(seconds: 12, in: dir)
        try await withServer(configure: Self.configure) { server in
            let poller = Self.poll(server, "live/reset")
            let sent = try await Self.publish(clip, to: "live/reset", on: server, ["--restart-at", "6"])
            #expect(sent.status == "NetStream.Publish.Start")
            let out = try await Self.read(server, "live/reset", poller, in: dir)
            #expect(out.duration >= 10, "\(out.duration) s of media")
            #expect(Double(out.videoFrames) >= 0.9 * Double(sent.videoSent))
            #expect(out.entries.contains { $0.discontinuity })
            for segment in out.segments {
                for (kind, bounds) in [("video", 25...45), ("audio", 18...30)] as [(String, ClosedRange<Int64>)] {
                    let pts = segment.filter { $0.mediaType == kind }.map(\.ptsMilliseconds).sorted()
                    #expect(zip(pts, pts.dropFirst()).allSatisfy { bounds.contains($1 - $0) }, "\(kind) keeps its spacing")
                }
            }
        }
    }

    /// Case 12. ffmpeg itself publishes mostly 2 s GOPs with one 7 s GOP: the target duration stays what the first
    /// playlist said, and no segment rounds above it.
    @Test func oneLongGOPDoesNotMoveTheTargetDuration() async throws {
        try await withServer(configure: Self.configure) { server in
            let secret = try await server.server.keys.add(stream: "live/gop")
            let poller = Self.poll(server, "live/gop")
            _ = try await Tool("ffmpeg").run([
                "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30",
                "-f", "lavfi", "-i", "sine=frequency=440", "-t", "15", "-c:v", "libx264", "-preset", "ultrafast",
                "-force_key_frames", "0,2,4,11,13", "-g", "1000", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-f", "flv", "\(server.rtmpBase)/live/gop?key=\(secret)",
            ], timeout: 90)
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let out = try await Self.read(server, "live/gop", poller, in: dir)
            #expect(Set(out.targetDurations) == [2], "\(out.targetDurations)")
            #expect(out.entries.allSatisfy { Int($0.duration.rounded()) <= 2 }, "\(out.entries.map(\.duration))")
            #expect(!out.versions.contains { $0.text.contains("#EXT-X-INDEPENDENT-SEGMENTS") }, "the cut GOP's segments are not independent")
            let master = try await server.fetch("/hls/live/gop/master.m3u8")
            #expect(master.status == 200)
            #expect(!String(decoding: master.body, as: UTF8.self).contains("INDEPENDENT-SEGMENTS"), "nor in the multivariant playlist (RFC 8216 §4.3.5.1)")
            #expect(out.duration >= 13)
        }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
}

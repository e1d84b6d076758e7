import Testing

@testable import FFmpeg
import TestSupport

@Suite struct InputFileTests {
    @Test func opensTheFixtureThroughLibavformat() throws {
        let input = try InputFile(url: Fixtures.path(Fixtures.bframes))
        #expect(input.formatName == "flv")
        let streams = input.streams
        #expect(streams.map(\.codecName) == ["h264", "aac"])
        #expect(streams[0].width == 640)
        #expect(streams[0].height == 360)
        #expect(streams[1].sampleRate == 48000)
        #expect(streams[1].channels == 2)
        var counts = [0, 0]
        var keyframes = 0
        while let packet = try input.readPacket() {
            counts[packet.streamIndex] += 1
            if packet.streamIndex == 0 && packet.isKeyframe { keyframes += 1 }
        }
        #expect(counts == [180, 283])
        #expect(keyframes == 6)
    }

    @Test func missingFileGivesAReadableError() {
        #expect {
            _ = try InputFile(url: "/nonexistent/clip.flv")
        } throws: { error in
            guard let error = error as? FFmpegError else { return false }
            return error.description.contains("No such file")
        }
    }
}

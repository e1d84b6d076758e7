import FLV
import Testing

@testable import RTMP

@Suite struct ReceiveLowWatermarkTests {
    @Test func followsAbout20msOfTheStream() {
        var mark = ReceiveLowWatermark()
        #expect(mark.bytes == 1)
        #expect(mark.update(bytesInLastSecond: 312_500, windowSize: 2_500_000) == 6250)  // 2.5 Mbit/s
        #expect(mark.update(bytesInLastSecond: 320_000, windowSize: 2_500_000) == nil, "small moves leave the socket alone")
        #expect(mark.update(bytesInLastSecond: 625_000, windowSize: 2_500_000) == 12_500)
        #expect(mark.update(bytesInLastSecond: 10_000_000, windowSize: nil) == ReceiveLowWatermark.maximum)
    }

    @Test func isOffForSlowStreamsQuietSecondsAndSmallWindows() {
        var mark = ReceiveLowWatermark()
        #expect(mark.update(bytesInLastSecond: 16_000, windowSize: nil) == nil, "128 kbit/s audio: every byte wakes")
        #expect(mark.update(bytesInLastSecond: 400_000, windowSize: nil) == 8000)
        #expect(mark.update(bytesInLastSecond: 0, windowSize: nil) == 1, "a quiet second frees whatever waits")
        #expect(mark.update(bytesInLastSecond: 400_000, windowSize: 3000) == nil, "a quarter of a tiny window is too little")
        #expect(mark.update(bytesInLastSecond: 10_000_000, windowSize: 64_000) == 16_000, "at most a quarter of the window")
    }
}

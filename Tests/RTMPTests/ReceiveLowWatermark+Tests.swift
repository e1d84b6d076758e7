import FLV
import Testing

@testable import RTMP

@Suite struct ReceiveLowWatermarkTests {
    @Test func followsAbout30msOfTheStream() {
        var mark = ReceiveLowWatermark()
        #expect(mark.bytes == 1)
        #expect(mark.update(bytesInLastSecond: 312_500, windowSize: 2_500_000) == 9375)  // 2.5 Mbit/s
        #expect(mark.update(bytesInLastSecond: 320_000, windowSize: 2_500_000) == nil, "small moves leave the socket alone")
        #expect(mark.update(bytesInLastSecond: 400_000, windowSize: 2_500_000) == 12_000)
        #expect(mark.update(bytesInLastSecond: 10_000_000, windowSize: nil) == ReceiveLowWatermark.maximum)
    }

    @Test func followsTheConfiguredShareOfTheStream() {
        var longer = ReceiveLowWatermark(milliseconds: 40)
        #expect(longer.update(bytesInLastSecond: 312_500, windowSize: 2_500_000) == 12_500)  // 2.5 Mbit/s, 40 ms
        var off = ReceiveLowWatermark(milliseconds: 0)
        #expect(off.update(bytesInLastSecond: 312_500, windowSize: 2_500_000) == nil, "0: every byte wakes the server")
        #expect(off.bytes == 1)
        #expect(ReceiveLowWatermark(milliseconds: 1000).milliseconds == 100)
        #expect(ReceiveLowWatermark(milliseconds: -5).milliseconds == 0)
    }

    @Test func isOffForSlowStreamsQuietSecondsAndSmallWindows() {
        var mark = ReceiveLowWatermark()
        #expect(mark.update(bytesInLastSecond: 16_000, windowSize: nil) == nil, "128 kbit/s audio: every byte wakes")
        #expect(mark.update(bytesInLastSecond: 400_000, windowSize: nil) == 12_000)
        #expect(mark.update(bytesInLastSecond: 0, windowSize: nil) == 1, "a quiet second frees whatever waits")
        #expect(mark.update(bytesInLastSecond: 400_000, windowSize: 3000) == nil, "a quarter of a tiny window is too little")
        #expect(mark.update(bytesInLastSecond: 10_000_000, windowSize: 64_000) == 16_000, "at most a quarter of the window")
    }
}

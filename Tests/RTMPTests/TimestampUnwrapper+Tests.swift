import Testing

@testable import RTMP

@Suite struct TimestampUnwrapperTests {
    @Test func timestampUnwrapping() {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(0xFFFF_FF00) == 0xFFFF_FF00)
        #expect(unwrapper.unwrap(0x0000_0010) == 0x1_0000_0010)
        // A late packet from before the wrap stays before it.
        #expect(unwrapper.unwrap(0xFFFF_FFF0) == 0xFFFF_FFF0)
        #expect(unwrapper.unwrap(0x0000_0020) == 0x1_0000_0020)
    }
}

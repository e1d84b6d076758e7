import Testing

@testable import Remux

/// The pace-setting track's cadence: steady only when the last intervals agree, in RTMP's whole milliseconds.
@Suite struct FrameCadenceTests {
    /// 30 fps as RTMP carries it (33, 33, 34 ms), in 90 kHz.
    static let thirtyFPS: [Int64] = (0..<40).map { Int64(($0 * 1000 + 15) / 30) * 90 }

    @Test func aSteadyRateForecastsItsShortestInterval() {
        var cadence = FrameCadence()
        for (index, dts) in Self.thirtyFPS.enumerated() {
            cadence.note(dts: dts)
            if index < 8 { #expect(cadence.expectedInterval == nil, "only \(index) intervals seen") }
        }
        #expect(cadence.expectedInterval == Int64(33 * 90), "33 ms, never the 34 ms that comes every third frame")
    }

    @Test func aDroppedFrameOrAStepBackMakesItUnsteadyUntilTheWindowRefills() {
        var cadence = FrameCadence()
        var dts: Int64 = 0
        for _ in 0...8 {
            cadence.note(dts: dts)
            dts += 3000
        }
        #expect(cadence.expectedInterval == 3000)
        dts += 3000  // one frame missing: a 6 000 interval
        cadence.note(dts: dts)
        #expect(cadence.expectedInterval == nil)
        for _ in 0..<7 {
            dts += 3000
            cadence.note(dts: dts)
            #expect(cadence.expectedInterval == nil, "the long interval is still in the window")
        }
        dts += 3000
        cadence.note(dts: dts)
        #expect(cadence.expectedInterval == 3000)
        cadence.note(dts: 0)  // the timeline started again
        #expect(cadence.expectedInterval == nil)
    }

    @Test func aVariableRateIsNotForecast() {
        var cadence = FrameCadence()
        var dts: Int64 = 0
        for step: Int64 in [3000, 2000, 4000, 3000, 2500, 3500, 3000, 2000, 4000] {
            cadence.note(dts: dts)
            dts += step
        }
        cadence.note(dts: dts)
        #expect(cadence.expectedInterval == nil)
    }
}

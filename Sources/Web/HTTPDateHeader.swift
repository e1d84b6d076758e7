import Foundation
import Synchronization

/// The value of every HTTP answer's `Date` header: an IMF-fixdate (RFC 9110 §5.6.7), such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`, formatted at most once per second of the clock and only when an answer asks.
///
/// Hummingbird's `Application` keeps the same value fresh with a task woken by a once-a-second timer, which wakes
/// three threads every second whether or not a request comes: about half an idle server's CPU on the bench VM
/// (0.3 of 0.6–0.7 ms a second, `BENCHMARKS.md`). Here an answer pays one clock read and a lock, and the first
/// answer in a new second the formatting.
public final class HTTPDateHeader: Sendable {
    private static let format = Date.VerbatimFormatStyle(
        format: """
            \(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .padded(4)) \
            \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT
            """,
        locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian))

    private struct Cached {
        var second: Int64 = .min
        var text = ""
        /// How many times the text was formatted (tests).
        var formats = 0
    }

    private let cached = Mutex(Cached())

    /// One for the process: the value depends on the clock alone.
    public static let shared = HTTPDateHeader()

    public init() {}

    /// The header's value at `now`.
    public func value(at now: Date = Date()) -> String {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        if let text = cached.withLock({ $0.second == second ? $0.text : nil }) { return text }
        // Formatted outside the lock, so answers on other event loops never wait behind it.
        let text = Self.format.format(Date(timeIntervalSince1970: Double(second)))
        cached.withLock { $0 = Cached(second: second, text: text, formats: $0.formats + 1) }
        return text
    }

    /// How many times a value was formatted rather than taken from the cache.
    var formats: Int { cached.withLock { $0.formats } }
}

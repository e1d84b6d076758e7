import Foundation
import Synchronization

/// The value of every HTTP answer's `Date` header: an IMF-fixdate (RFC 9110 §5.6.7), such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`, formatted at most once per second of the clock and only when an answer asks.
///
/// Hummingbird's `Application` keeps the same value fresh with a task woken by a once-a-second timer, which wakes
/// three threads every second whether or not a request comes: 0.56 ms of CPU a second on the bench VM, most of an
/// idle server's cost (`BENCHMARKS.md`). Here an answer pays one clock read, and a reformat when the second changed.
public final class HTTPDateHeader: Sendable {
    private static let format = Date.VerbatimFormatStyle(
        format: """
            \(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .padded(4)) \
            \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT
            """,
        locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian))

    private let cached = Mutex<(second: Int64, text: String)>((.min, ""))

    /// One for the process: the value depends on the clock alone.
    public static let shared = HTTPDateHeader()

    public init() {}

    /// The header's value at `now`.
    public func value(at now: Date = Date()) -> String {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        return cached.withLock { cached in
            if cached.second != second { cached = (second, Self.format.format(Date(timeIntervalSince1970: Double(second)))) }
            return cached.text
        }
    }
}

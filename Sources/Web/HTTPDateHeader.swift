import Foundation
import NIOPosix

/// The value of every HTTP answer's `Date` header: an IMF-fixdate (RFC 9110 §5.6.7), such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`, formatted at most once per second of the clock and only when an answer asks.
///
/// Hummingbird's `Application` keeps the same value fresh with a task woken by a once-a-second timer, which wakes
/// three threads every second whether or not a request comes: about half an idle server's CPU on the bench VM
/// (0.3 of 0.6–0.7 ms a second, `BENCHMARKS.md`). Here an answer pays one clock read, and the first
/// answer in a new second the formatting.
///
/// Each thread (each event loop, each of Swift Concurrency's) keeps its own copy, so no answer takes a lock: a
/// thread formats at most once a second, and only in seconds when it answers.
public final class HTTPDateHeader: Sendable {
    private static let format = Date.VerbatimFormatStyle(
        format: """
            \(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .padded(4)) \
            \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT
            """,
        locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian))

    /// One thread's value; only that thread reads or writes it.
    private final class Cached: @unchecked Sendable {
        var second: Int64 = .min
        var text = ""
        /// How many times this thread formatted the text (tests).
        var formats = 0
    }

    private let perThread = ThreadSpecificVariable<Cached>()

    /// One for the process: the value depends on the clock alone.
    public static let shared = HTTPDateHeader()

    public init() {}

    /// The header's value at `now`.
    public func value(at now: Date = Date()) -> String {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        let cached = perThread.currentValue ?? {
            let cached = Cached()
            perThread.currentValue = cached
            return cached
        }()
        if cached.second != second {
            cached.second = second
            cached.text = Self.format.format(Date(timeIntervalSince1970: Double(second)))
            cached.formats += 1
        }
        return cached.text
    }

    /// How many times the calling thread formatted a value rather than taking it from its copy.
    var formats: Int { perThread.currentValue?.formats ?? 0 }
}

internal import CFFmpeg

/// A failed libav* call: the function's name, its return code and av_strerror's text.
public struct FFmpegError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let code: Int32
    public let message: String

    public var description: String { "\(operation): \(message) (\(code))" }

    public var isEndOfFile: Bool { code == cuecast_averror_eof() }
}

/// Passes non-negative return codes through and turns negative ones into `FFmpegError`.
@discardableResult
func check(_ code: Int32, _ operation: String) throws(FFmpegError) -> Int32 {
    guard code < 0 else { return code }
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw FFmpegError(operation: operation, code: code, message: message)
}

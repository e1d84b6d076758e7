import FLV

/// Every way an RTMP peer can break the protocol, named precisely enough for a log line.
public enum RTMPError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedVersion(UInt8)
    case handshakeTimeout(seconds: Int64)
    case idleTimeout(seconds: Int64)
    case chunkSizeTooLarge(requested: UInt32, limit: Int)
    case invalidChunkSize(UInt32)
    case messageTooLarge(length: Int, limit: Int)
    case tooManyChunkStreams(limit: Int)
    case missingFullHeader(chunkStreamID: UInt32)
    case messageLengthMismatch(chunkStreamID: UInt32)
    case amfNestingTooDeep(limit: Int)
    case amfTruncated
    case amfUnknownMarker(UInt8)
    case amfUnsupported(String)
    case malformedMessage(type: UInt8, reason: String)
    case malformedCommand(String)
    case protocolViolation(String)
    /// The socket failed (reset, broken pipe): the peer's doing, not a protocol fault.
    case socketError(String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): "unsupported RTMP version byte \(v) (expected 3)"
        case .handshakeTimeout(let s): "handshake not completed within \(s) s"
        case .idleTimeout(let s): "no data for \(s) s"
        case .chunkSizeTooLarge(let r, let l): "peer chunk size \(r) exceeds limit \(l)"
        case .invalidChunkSize(let r): "invalid chunk size \(r)"
        case .messageTooLarge(let len, let l): "message of \(len) bytes exceeds limit \(l)"
        case .tooManyChunkStreams(let l): "more than \(l) open chunk streams"
        case .missingFullHeader(let c): "chunk stream \(c) continued without a type-0 header"
        case .messageLengthMismatch(let c): "chunk stream \(c) changed message length mid-message"
        case .amfNestingTooDeep(let l): "AMF nesting deeper than \(l)"
        case .amfTruncated: "truncated AMF value"
        case .amfUnknownMarker(let m): "unknown AMF0 marker \(m)"
        case .amfUnsupported(let what): "unsupported AMF value: \(what)"
        case .malformedMessage(let t, let r): "malformed message type \(t): \(r)"
        case .malformedCommand(let r): "malformed command: \(r)"
        case .protocolViolation(let r): "protocol violation: \(r)"
        case .socketError(let r): "socket error: \(r)"
        }
    }
}

extension RTMPError {
    /// The same fault, seen from the RTMP message that carried the bad FLV or AMF bytes.
    public init(_ error: FLVError) {
        switch error {
        case .amfNestingTooDeep(let limit): self = .amfNestingTooDeep(limit: limit)
        case .amfTruncated: self = .amfTruncated
        case .amfUnknownMarker(let marker): self = .amfUnknownMarker(marker)
        case .amfUnsupported(let what): self = .amfUnsupported(what)
        case .malformedTag(let type, let reason): self = .malformedMessage(type: type, reason: reason)
        }
    }
}

/// Runs FLV/AMF decoding inside RTMP code, reporting its faults as RTMP errors.
@inline(__always)
func decodingFLV<T>(_ body: () throws(FLVError) -> T) throws(RTMPError) -> T {
    do { return try body() } catch { throw RTMPError(error) }
}

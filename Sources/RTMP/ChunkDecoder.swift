import FLV
import NIOCore

/// Limits the chunk decoder enforces on a peer, so a hostile client cannot make the server allocate at will.
public struct ChunkLimits: Sendable, Equatable {
    public var maxChunkSize: Int
    public var maxMessageSize: Int
    public var maxChunkStreams: Int

    /// RTMP allows chunk sizes up to 2³¹−1 and a chunk never holds more than its message, so the message size is
    /// what bounds memory; the chunk size limit defaults to the protocol's own.
    public init(maxChunkSize: Int = 0x7FFF_FFFF, maxMessageSize: Int = 8 << 20, maxChunkStreams: Int = 64) {
        self.maxChunkSize = maxChunkSize
        self.maxMessageSize = maxMessageSize
        self.maxChunkStreams = maxChunkStreams
    }
}

/// Turns the RTMP chunk stream into whole messages.
///
/// Each chunk stream keeps its last header and its partial message, because peers interleave chunk streams.
/// Set Chunk Size and Abort change how the following bytes are read, so the decoder applies them itself and
/// still hands them on. Returns one message per call. A chunk's payload is taken as it arrives (only a partial
/// header is left in the buffer), so a read that ends mid-chunk is not kept and copied again with the next one.
public struct ChunkDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RTMPMessage

    struct ChunkStreamState {
        var timestamp: UInt32 = 0
        /// The raw timestamp field of the last header: absolute for type 0, a delta otherwise. A type-3 chunk
        /// that starts a new message adds it again.
        var timestampField: UInt32 = 0
        var length: Int = 0
        var typeID: UInt8 = 0
        var messageStreamID: UInt32 = 0
        var hasExtendedTimestamp = false
        /// The 4-byte extended timestamp of the last header, as sent (absolute for type 0, a delta otherwise).
        var extendedTimestamp: UInt32 = 0
    }

    public let limits: ChunkLimits
    public private(set) var chunkSize = 128
    var streams = ChunkStreamTable<ChunkStreamState>()
    /// Each chunk stream's message still arriving. Apart from the headers, so that no copy of a header state holds
    /// a second reference to it while a chunk is appended.
    var partials = ChunkStreamTable<ByteBuffer>()
    /// The chunk whose payload is still arriving, and how many of its bytes are to come.
    var openChunk: (chunkStreamID: UInt32, remaining: Int)?

    public init(limits: ChunkLimits = ChunkLimits()) {
        self.limits = limits
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RTMPMessage? {
        while true {
            var view = buffer
            guard let result = try readChunk(&view) else { return nil }
            buffer = view
            if let message = result {
                try apply(message)
                return message
            }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RTMPMessage? {
        try decode(buffer: &buffer)
    }

    /// Reads one chunk, or what has arrived of its payload. Returns nil if more bytes are needed, `.some(nil)` if
    /// bytes were taken but no message finished.
    private mutating func readChunk(_ buffer: inout ByteBuffer) throws(RTMPError) -> RTMPMessage?? {
        if let (csid, remaining) = openChunk {
            guard buffer.readableBytes > 0 else { return nil }
            return .some(appendPayload(of: csid, chunkRemaining: remaining, from: &buffer))
        }
        guard let first = buffer.readInteger(as: UInt8.self) else { return nil }
        let format = first >> 6
        var csid = UInt32(first & 0x3F)
        switch csid {
        case 0:
            guard let b = buffer.readInteger(as: UInt8.self) else { return nil }
            csid = UInt32(b) + 64
        case 1:
            guard let b0 = buffer.readInteger(as: UInt8.self), let b1 = buffer.readInteger(as: UInt8.self) else {
                return nil
            }
            csid = UInt32(b1) * 256 + UInt32(b0) + 64
        default: break
        }

        let known = streams[csid]
        if known == nil {
            guard format == 0 else { throw .missingFullHeader(chunkStreamID: csid) }
            guard streams.count < limits.maxChunkStreams else { throw .tooManyChunkStreams(limit: limits.maxChunkStreams) }
        }
        var state = known ?? ChunkStreamState()
        let startsMessage = partials[csid] == nil

        switch format {
        case 0:
            guard buffer.readableBytes >= 11 else { return nil }
            let field = buffer.readUInt24()
            let length = Int(buffer.readUInt24())
            let typeID = buffer.readInteger(as: UInt8.self)!
            let streamID = buffer.readInteger(endianness: .little, as: UInt32.self)!
            state.hasExtendedTimestamp = field == 0xFF_FFFF
            var timestamp = field
            if state.hasExtendedTimestamp {
                guard let ext = buffer.readInteger(as: UInt32.self) else { return nil }
                timestamp = ext
                state.extendedTimestamp = ext
            }
            if !startsMessage { throw .protocolViolation("new header on chunk stream \(csid) mid-message") }
            state.timestamp = timestamp
            state.timestampField = timestamp
            state.length = length
            state.typeID = typeID
            state.messageStreamID = streamID
        case 1, 2:
            guard buffer.readableBytes >= (format == 1 ? 7 : 3) else { return nil }
            let field = buffer.readUInt24()
            if format == 1 {
                state.length = Int(buffer.readUInt24())
                state.typeID = buffer.readInteger(as: UInt8.self)!
            }
            state.hasExtendedTimestamp = field == 0xFF_FFFF
            var delta = field
            if state.hasExtendedTimestamp {
                guard let ext = buffer.readInteger(as: UInt32.self) else { return nil }
                delta = ext
                state.extendedTimestamp = ext
            }
            if !startsMessage { throw .protocolViolation("new header on chunk stream \(csid) mid-message") }
            state.timestampField = delta
            state.timestamp &+= delta
        default:
            // A type 3 chunk that starts a message carries the extended timestamp whenever the header it repeats
            // did. Inside a message, clients differ: FFmpeg and OBS ≥ 30.1 repeat it, librtmp-era encoders leave
            // it out. The 4 bytes are taken as the timestamp only when they equal the message's own, the reading
            // of nginx-rtmp, SRS and lal.
            if state.hasExtendedTimestamp {
                if startsMessage {
                    guard let ext = buffer.readInteger(as: UInt32.self) else { return nil }
                    state.timestampField = ext
                    state.extendedTimestamp = ext
                } else {
                    guard let next = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
                    if next == state.extendedTimestamp { buffer.moveReaderIndex(forwardBy: 4) }
                }
            }
            if startsMessage {
                state.timestamp &+= state.timestampField
            }
        }

        guard state.length <= limits.maxMessageSize else {
            throw .messageTooLarge(length: state.length, limit: limits.maxMessageSize)
        }

        let have = partials[csid]?.readableBytes ?? 0
        let take = min(chunkSize, state.length - have)
        if have == 0 && take == state.length, let whole = buffer.readSlice(length: take) {
            // Single-chunk message: hand on a slice of the socket buffer, no copy.
            streams[csid] = state
            return .some(
                RTMPMessage(
                    chunkStreamID: csid, timestamp: state.timestamp, typeID: state.typeID,
                    messageStreamID: state.messageStreamID, payload: whole))
        }
        streams[csid] = state
        return .some(appendPayload(of: csid, chunkRemaining: take, from: &buffer))
    }

    /// Moves what has arrived of the open chunk's payload into its message; the message when it is complete.
    private mutating func appendPayload(of csid: UInt32, chunkRemaining: Int, from buffer: inout ByteBuffer) -> RTMPMessage? {
        let count = min(chunkRemaining, buffer.readableBytes)
        var piece = buffer.readSlice(length: count)!
        let state = streams[csid]!
        // Taken out of the table, so this is the only reference and appending writes in place (a second one, such as
        // a copy of the chunk stream's state, made every chunk copy the whole message so far).
        var partial = partials.removeValue(forKey: csid) ?? ByteBufferAllocator().buffer(capacity: state.length)
        partial.writeBuffer(&piece)
        openChunk = count < chunkRemaining ? (csid, chunkRemaining - count) : nil
        guard partial.readableBytes == state.length else {
            partials[csid] = partial
            return nil
        }
        return RTMPMessage(
            chunkStreamID: csid, timestamp: state.timestamp, typeID: state.typeID, messageStreamID: state.messageStreamID,
            payload: partial)
    }

    /// Applies the control messages that change how later chunks are read.
    private mutating func apply(_ message: RTMPMessage) throws(RTMPError) {
        switch message.type {
        case .setChunkSize:
            guard let raw = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self) else {
                throw .malformedMessage(type: message.typeID, reason: "Set Chunk Size needs 4 bytes")
            }
            let size = raw & 0x7FFF_FFFF
            guard size >= 1 else { throw .invalidChunkSize(raw) }
            guard size <= limits.maxChunkSize else { throw .chunkSizeTooLarge(requested: size, limit: limits.maxChunkSize) }
            chunkSize = Int(size)
        case .abort:
            guard let csid = message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self) else {
                throw .malformedMessage(type: message.typeID, reason: "Abort needs 4 bytes")
            }
            partials[csid] = nil
        default:
            break
        }
    }
}

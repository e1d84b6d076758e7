import FLV
import Media
import NIOCore

/// What an RTMP connection reports to the layer above it (ingest). Called on the connection's event loop, except
/// `authorize`, which may suspend.
public protocol RTMPConnectionDelegate: AnyObject, Sendable {
    func handshakeCompleted(clientKind: Handshake.ClientKind)
    func connected(app: String, tcURL: String?, flashVersion: String?)
    /// Decides whether `request` may publish: a sink takes the publish's media, a refusal is sent to the client
    /// before the connection closes.
    func authorize(_ request: PublishRequest) async -> Result<any PublishSink, PublishRefusal>
    /// Decides whether `request` may play: a sink feeds the player, a refusal is sent before the connection closes.
    func authorizePlay(_ request: PlayRequest) async -> Result<any PlaySink, PlayRefusal>
    func ignored(typeID: UInt8, reason: String)
    /// A message that could not be read was dropped (see `ServerSession.Action.dropped`).
    func dropped(typeID: UInt8, reason: String)
    /// The connection is gone; `error` is nil for an orderly close.
    func closed(reason: String, error: RTMPError?)
}

/// Where an authorized publish's media goes. Called on the connection's event loop, in arrival order.
public protocol PublishSink: AnyObject, Sendable {
    func received(_ packet: MediaPacket)
    /// `onMetaData`: what it says, and its values as sent.
    func received(_ metadata: StreamMetadata, values: AMF0Value)
    func received(_ cue: InBandCue)
    /// A message of this publish that could not be read was dropped.
    func dropped(typeID: UInt8, reason: String)
    /// The publish is over (unpublish command, closed connection or error); no more calls follow.
    func ended(reason: String)
}

/// What feeds an authorized play. Called on the connection's event loop.
public protocol PlaySink: AnyObject, Sendable {
    /// The play started (its status messages are out): media goes to `output` from now on.
    func start(output: any PlayOutput)
    /// The connection can take more (or less) now; see `PlayOutput.isWritable`.
    func writabilityChanged()
    /// The play is over (the client stopped, the connection closed); no more calls follow.
    func stopped(reason: String)
}

/// The connection as a player's feed writes to it. Only on the connection's event loop.
public protocol PlayOutput: AnyObject {
    /// False while the socket is not taking what it was given: stop writing until `writabilityChanged`.
    var isWritable: Bool { get }
    /// The chunk size the player reads at: pre-chunked bytes must use it.
    var chunkSize: Int { get }
    /// Chunks `message` and writes it.
    func send(_ message: RTMPMessage)
    /// Writes bytes already chunked at `chunkSize` (shared among players).
    func write(chunked bytes: ByteBuffer)
    func flush()
    /// Ends the connection, e.g. a player too far behind.
    func close(reason: String)
}

/// Limits and timeouts for one RTMP connection.
public struct RTMPConnectionConfiguration: Sendable {
    public var chunkLimits = ChunkLimits()
    public var session = ServerSession.Configuration()
    public var handshakeTimeoutSeconds: Int64 = 10
    public var idleTimeoutSeconds: Int64 = 30
    /// Milliseconds of a publisher's stream the kernel gathers before waking the server (`ReceiveLowWatermark`).
    public var gatherMilliseconds = ReceiveLowWatermark.defaultMilliseconds

    public init() {}
}

extension PlayOutput {
    /// Writes `packet` as a media message on `messageStreamID`, chunked at this output's chunk size. `shared` is
    /// the event's cache of encodings (`SharedEncodings.bytes(for:encode:)`): every player and push with the same
    /// chunk size and message stream sends the one buffer. Returns the bytes written (0 for a codec FLV does not
    /// carry).
    @discardableResult
    public func writeMedia(
        _ packet: MediaPacket, messageStreamID id: UInt32, shared: (Int, () -> ByteBuffer?) -> ByteBuffer?
    ) -> Int {
        let chunkSize = self.chunkSize
        guard let bytes = shared(chunkSize << 8 | Int(id & 0xFF), {
            PlayMessages.chunkedMedia(packet, messageStreamID: id, chunkSize: chunkSize)
        }) else { return 0 }
        write(chunked: bytes)
        return bytes.readableBytes
    }
}

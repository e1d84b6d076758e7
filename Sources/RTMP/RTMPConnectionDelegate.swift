import Media

/// What an RTMP connection reports to the layer above it (ingest). Called on the connection's event loop, except
/// `authorize`, which may suspend.
public protocol RTMPConnectionDelegate: AnyObject, Sendable {
    func handshakeCompleted(clientKind: Handshake.ClientKind)
    func connected(app: String, tcURL: String?, flashVersion: String?)
    /// Decides whether `request` may publish: a sink takes the publish's media, a refusal is sent to the client
    /// before the connection closes.
    func authorize(_ request: PublishRequest) async -> Result<any PublishSink, PublishRefusal>
    func ignored(typeID: UInt8, reason: String)
    /// The connection is gone; `error` is nil for an orderly close.
    func closed(reason: String, error: RTMPError?)
}

/// Where an authorized publish's media goes. Called on the connection's event loop, in arrival order.
public protocol PublishSink: AnyObject, Sendable {
    func received(_ packet: MediaPacket)
    func received(_ metadata: StreamMetadata)
    func received(_ cue: InBandCue)
    /// The publish is over (unpublish command, closed connection or error); no more calls follow.
    func ended(reason: String)
}

/// Limits and timeouts for one RTMP connection.
public struct RTMPConnectionConfiguration: Sendable {
    public var chunkLimits = ChunkLimits()
    public var session = ServerSession.Configuration()
    public var handshakeTimeoutSeconds: Int64 = 10
    public var idleTimeoutSeconds: Int64 = 30

    public init() {}
}

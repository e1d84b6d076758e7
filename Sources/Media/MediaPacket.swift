import NIOCore

/// One compressed frame on its way from an ingest protocol to a muxer.
///
/// Times are in milliseconds (RTMP's clock), already unwrapped to 64 bits. The payload is a slice of the
/// buffer the frame arrived in, so handing a packet on costs no copy.
public struct MediaPacket: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Decoder configuration (AVCDecoderConfigurationRecord, AudioSpecificConfig, …).
        case sequenceHeader
        /// A coded frame.
        case frame
        /// End of sequence marker (AVC packet type 2).
        case endOfSequence
    }

    public var track: Track
    public var codec: Codec
    public var kind: Kind
    public var dts: Int64
    public var pts: Int64
    public var isKeyframe: Bool
    public var payload: ByteBuffer
    /// When the ingest read the packet off its socket (monotonic), for latency figures. An `NIODeadline` rather
    /// than a `ContinuousClock.Instant`: the standard library's instant has a layout known only at run time, which
    /// made every copy of a packet (and of each enum carrying one) go through the runtime's value witnesses.
    public var arrival: NIODeadline?
    /// For a sequence header that parsed: what it says (the ingest parses it once for everyone).
    public var format: TrackFormat? {
        get { formatBox?.format }
        set { formatBox = newValue.map(FormatBox.init) }
    }
    /// The first frame after the ingest absorbed a jump in the encoder's timestamps
    /// (`TimestampJumpCorrector`): the timeline is continuous, but outputs that mark breaks (HLS's
    /// `EXT-X-DISCONTINUITY`) start a new segment here.
    public var followsTimestampJump = false

    public init(
        track: Track, codec: Codec, kind: Kind, dts: Int64, pts: Int64, isKeyframe: Bool, payload: ByteBuffer
    ) {
        self.track = track
        self.codec = codec
        self.kind = kind
        self.dts = dts
        self.pts = pts
        self.isKeyframe = isKeyframe
        self.payload = payload
    }

    /// Composition offset, PTS − DTS.
    public var compositionOffset: Int64 { pts - dts }

    /// Boxed because only sequence headers carry one, while every frame is copied through queues, the GOP cache
    /// and the muxers' interleavers: kept inline, a `TrackFormat` made each packet three times its size.
    private var formatBox: FormatBox?

    private final class FormatBox: Sendable {
        let format: TrackFormat
        init(_ format: TrackFormat) { self.format = format }
    }
}

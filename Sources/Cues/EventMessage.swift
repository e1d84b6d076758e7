/// An event message box, `emsg` version 1 (ISO/IEC 23009-1 §5.10.3.3), as CMAF carries timed metadata: with the
/// scheme `https://aomedia.org/emsg/ID3` (AOM, "Carriage of ID3 Timed Metadata in CMAF") its message is an ID3
/// tag, which hls.js, Shaka, ExoPlayer and AVPlayer hand to applications. Pure: values in, bytes out.
public struct EventMessage: Sendable, Equatable {
    public static let id3Scheme = "https://aomedia.org/emsg/ID3"
    /// `event_duration` for an event without a known end.
    public static let unknownDuration = UInt32.max

    /// Ticks per second of `presentationTime` and `duration`.
    public var timescale: UInt32
    /// When the event applies: the composition time of the frame it is bound to, in `timescale`.
    public var presentationTime: UInt64
    public var duration: UInt32
    /// Unique per stream and scheme.
    public var id: UInt32
    public var schemeIDURI: String
    public var value: String
    public var message: [UInt8]

    public init(
        timescale: UInt32, presentationTime: UInt64, duration: UInt32 = unknownDuration, id: UInt32, schemeIDURI: String = id3Scheme,
        value: String = "", message: [UInt8]
    ) {
        self.timescale = timescale
        self.presentationTime = presentationTime
        self.duration = duration
        self.id = id
        self.schemeIDURI = schemeIDURI
        self.value = value
        self.message = message
    }

    /// The whole box: size, `emsg`, version 1 and flags, then the fields in the version 1 order.
    public func encoded() -> [UInt8] {
        var body: [UInt8] = [1, 0, 0, 0]
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.bigEndian) { body += $0 }
        }
        append(timescale)
        append(presentationTime)
        append(duration)
        append(id)
        body += Array(schemeIDURI.utf8) + [0]
        body += Array(value.utf8) + [0]
        body += message
        var box: [UInt8] = []
        withUnsafeBytes(of: UInt32(8 + body.count).bigEndian) { box += $0 }
        return box + Array("emsg".utf8) + body
    }
}

internal import CFFmpeg

/// A demuxer opened on a file or URL: owns its `AVFormatContext` and frees it with `avformat_close_input`.
public final class InputFile {
    /// One elementary stream as libavformat sees it.
    public struct Stream: Sendable, Equatable {
        public var index: Int
        public var mediaType: String
        public var codecName: String
        public var width: Int
        public var height: Int
        public var sampleRate: Int
        public var channels: Int
        /// Decoder configuration (avcC, AudioSpecificConfig, …).
        public var extradata: [UInt8]
        /// Units of the stream's timestamps, as a fraction of a second.
        public var timeBase: (numerator: Int, denominator: Int)

        public static func == (a: Stream, b: Stream) -> Bool {
            a.index == b.index && a.codecName == b.codecName && a.extradata == b.extradata
                && a.timeBase.numerator == b.timeBase.numerator && a.timeBase.denominator == b.timeBase.denominator
        }
    }

    /// One demuxed packet's timing, in its stream's time base.
    public struct PacketInfo: Sendable, Equatable {
        public var streamIndex: Int
        public var pts: Int64?
        public var dts: Int64?
        public var isKeyframe: Bool
        public var data: [UInt8]
    }

    private var context: UnsafeMutablePointer<AVFormatContext>?
    private let packet: UnsafeMutablePointer<AVPacket>

    public init(url: String) throws(FFmpegError) {
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_open_input(&context, url, nil, nil), "avformat_open_input(\(url))")
        self.context = context
        guard let packet = av_packet_alloc() else {
            avformat_close_input(&self.context)
            throw FFmpegError(operation: "av_packet_alloc", code: -12, message: "out of memory")
        }
        self.packet = packet
        do {
            try check(avformat_find_stream_info(context, nil), "avformat_find_stream_info")
        } catch {
            var packet: UnsafeMutablePointer<AVPacket>? = packet
            av_packet_free(&packet)
            avformat_close_input(&self.context)
            throw error
        }
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packet)
        avformat_close_input(&context)
    }

    public var formatName: String {
        guard let name = context?.pointee.iformat.pointee.name else { return "" }
        return String(cString: name)
    }

    public var streams: [Stream] {
        guard let context else { return [] }
        return (0..<Int(context.pointee.nb_streams)).map { index in
            let stream = context.pointee.streams[index]!.pointee
            let parameters = stream.codecpar.pointee
            let type = av_get_media_type_string(parameters.codec_type).map { String(cString: $0) } ?? "unknown"
            let codec = avcodec_get_name(parameters.codec_id).map { String(cString: $0) } ?? "unknown"
            return Stream(
                index: index, mediaType: type, codecName: codec, width: Int(parameters.width),
                height: Int(parameters.height), sampleRate: Int(parameters.sample_rate),
                channels: Int(parameters.ch_layout.nb_channels),
                extradata: parameters.extradata.map { Array(UnsafeBufferPointer(start: $0, count: Int(parameters.extradata_size))) } ?? [],
                timeBase: (Int(stream.time_base.num), Int(stream.time_base.den)))
        }
    }

    /// The next packet, or nil at the end of the input.
    public func readPacket() throws(FFmpegError) -> PacketInfo? {
        let code = av_read_frame(context, packet)
        if code == cuecast_averror_eof() { return nil }
        try check(code, "av_read_frame")
        defer { av_packet_unref(packet) }
        let noValue = cuecast_av_nopts_value()
        return PacketInfo(
            streamIndex: Int(packet.pointee.stream_index),
            pts: packet.pointee.pts == noValue ? nil : packet.pointee.pts,
            dts: packet.pointee.dts == noValue ? nil : packet.pointee.dts,
            isKeyframe: packet.pointee.flags & cuecast_av_pkt_flag_key() != 0,
            data: Array(UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size))))
    }
}

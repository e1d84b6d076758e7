internal import CFFmpeg
public import NIOCore

/// A libavformat muxer writing into memory, MPEG-TS or fragmented MP4 (CMAF): owns its `AVFormatContext`, its
/// `AVIOContext` and that context's buffer.
///
/// Packets go in with 90 kHz timestamps; `flush()` pushes everything written so far into `output`, so a segment
/// or part can end exactly there: in MPEG-TS it also flushes audio the muxer was collecting into a larger PES;
/// in fragmented MP4 it ends the fragment (`moof` + `mdat`, ISO/IEC 23000-19 §7.3.2.3 chunk). libavformat converts
/// length-prefixed H.264/HEVC to Annex B for MPEG-TS (inserting SPS/PPS before keyframes) and wraps AAC in ADTS
/// itself; fragmented MP4 takes both as FLV carries them (`avcC`/`hvcC` records, raw AAC).
public final class Muxer {
    public enum Container: Sendable, Equatable {
        /// MPEG-TS with the caller's timestamps kept (`mpegts_copyts`).
        case mpegTS
        /// Fragmented MP4 for CMAF (`empty_moov`, `default_base_moof`, `cmaf`, fragments cut by `flush()`): the
        /// header (`ftyp` + `moov`) is the first output, the initialization segment. Video tracks at 90 kHz.
        case fragmentedMP4
    }

    public enum StreamSpec: Sendable, Equatable {
        case h264(extradata: [UInt8], width: Int, height: Int)
        case hevc(extradata: [UInt8], width: Int, height: Int)
        case aac(extradata: [UInt8], sampleRate: Int, channels: Int)
        /// ID3 timed metadata (stream type 0x15), for cue events; MPEG-TS only.
        case timedID3
    }

    /// Bytes written by the muxer's IO callback, straight into the buffer that becomes the segment.
    final class Sink {
        var bytes = ByteBuffer()
    }

    private var context: UnsafeMutablePointer<AVFormatContext>?
    private let packet: UnsafeMutablePointer<AVPacket>
    /// Buffers for packets up to `pooledPacketSize`, reused once the muxer is done with them: most frames fit,
    /// and a frame then costs no allocation.
    private var packetPool: OpaquePointer?
    static let pooledPacketSize = 32 * 1024
    /// Output buffer kept between drains, bytes: a 0.2 s part of a 2.5 Mbit/s stream fits, a keyframe's does not.
    public static let keptOutputCapacity = 128 * 1024
    private let sink = Sink()
    private var headerWritten = false
    public let streams: [StreamSpec]
    public let container: Container

    /// - Throws: `FFmpegError` when libavformat refuses the streams (`.timedID3` in MP4, say) or memory runs out.
    public init(container: Container = .mpegTS, streams: [StreamSpec]) throws(FFmpegError) {
        self.streams = streams
        self.container = container
        guard let packet = av_packet_alloc() else { throw .outOfMemory("av_packet_alloc") }
        self.packet = packet
        packetPool = av_buffer_pool_init(Self.pooledPacketSize + Int(cuecast_av_input_buffer_padding_size()), nil)
        var context: UnsafeMutablePointer<AVFormatContext>?
        do {
            try check(
                avformat_alloc_output_context2(&context, nil, container == .mpegTS ? "mpegts" : "mp4", nil), "avformat_alloc_output_context2")
            self.context = context
            try openIO()
            for spec in streams { try addStream(spec) }
            var options: OpaquePointer? = nil
            defer { av_dict_free(&options) }
            switch container {
            case .mpegTS:
                // Keep the caller's timestamps as they are (no muxer delay added), so a cue's ID3 PTS is known exactly.
                av_dict_set(&options, "mpegts_copyts", "1", 0)
            case .fragmentedMP4:
                // An empty moov (the init segment), fragments only when flushed, tfhd offsets from their moof (each
                // part stands alone), CMAF brands; decode times from the caller's timestamps (`frag_discont`: the
                // first fragment's tfdt is its first DTS, not 0), video at 90 kHz, so a sample's time is the caller's.
                av_dict_set(&options, "movflags", "+empty_moov+default_base_moof+frag_custom+cmaf+frag_discont", 0)
                av_dict_set(&options, "video_track_timescale", "90000", 0)
            }
            try check(avformat_write_header(context, &options), "avformat_write_header")
            headerWritten = true
        }
        // A throw above comes after every stored property is set, so deinit runs and releases what was made;
        // releasing here as well would free the packet twice.
    }

    deinit { release() }

    private func release() {
        if let context {
            if let io = context.pointee.pb {
                av_freep(&context.pointee.pb.pointee.buffer)
                var pb: UnsafeMutablePointer<AVIOContext>? = io
                avio_context_free(&pb)
                context.pointee.pb = nil
            }
            avformat_free_context(context)
            self.context = nil
        }
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packet)
        // Frees the pool once the last of its buffers comes back.
        av_buffer_pool_uninit(&packetPool)
    }

    private func openIO() throws(FFmpegError) {
        // Small: it is flushed at every part and segment end anyway, and every stream keeps one.
        let size: Int32 = 8 * 1024
        guard let buffer = av_malloc(Int(size)) else { throw .outOfMemory("av_malloc") }
        let opaque = Unmanaged.passUnretained(sink).toOpaque()
        let io = avio_alloc_context(
            buffer.assumingMemoryBound(to: UInt8.self), size, 1, opaque, nil,
            { opaque, data, size in
                guard let opaque, let data, size > 0 else { return 0 }
                Unmanaged<Sink>.fromOpaque(opaque).takeUnretainedValue().bytes
                    .writeBytes(UnsafeRawBufferPointer(start: data, count: Int(size)))
                return size
            }, nil)
        guard let io else {
            var pointer: UnsafeMutableRawPointer? = buffer
            av_freep(&pointer)
            throw .outOfMemory("avio_alloc_context")
        }
        context?.pointee.pb = io
        context?.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
    }

    private func addStream(_ spec: StreamSpec) throws(FFmpegError) {
        guard let stream = avformat_new_stream(context, nil) else { throw .outOfMemory("avformat_new_stream") }
        stream.pointee.time_base = AVRational(num: 1, den: 90000)
        let parameters = stream.pointee.codecpar!
        func setExtradata(_ bytes: [UInt8]) throws(FFmpegError) {
            guard !bytes.isEmpty else { return }
            let padding = Int(cuecast_av_input_buffer_padding_size())
            guard let memory = av_mallocz(bytes.count + padding) else { throw .outOfMemory("av_mallocz") }
            memory.copyMemory(from: bytes, byteCount: bytes.count)
            parameters.pointee.extradata = memory.assumingMemoryBound(to: UInt8.self)
            parameters.pointee.extradata_size = Int32(bytes.count)
        }
        switch spec {
        case .h264(let extradata, let width, let height), .hevc(let extradata, let width, let height):
            parameters.pointee.codec_type = AVMEDIA_TYPE_VIDEO
            if case .h264 = spec {
                parameters.pointee.codec_id = AV_CODEC_ID_H264
            } else {
                parameters.pointee.codec_id = AV_CODEC_ID_HEVC
                // `hvc1` (parameter sets only in the record), which Apple's players require; `hev1` is the default.
                if container == .fragmentedMP4 { parameters.pointee.codec_tag = 0x3163_7668 }
            }
            parameters.pointee.width = Int32(width)
            parameters.pointee.height = Int32(height)
            try setExtradata(extradata)
        case .aac(let extradata, let sampleRate, let channels):
            parameters.pointee.codec_type = AVMEDIA_TYPE_AUDIO
            parameters.pointee.codec_id = AV_CODEC_ID_AAC
            parameters.pointee.sample_rate = Int32(sampleRate)
            parameters.pointee.frame_size = 1024  // samples per AAC frame; the muxer warns when it is unknown
            av_channel_layout_default(&parameters.pointee.ch_layout, Int32(max(channels, 1)))
            try setExtradata(extradata)
        case .timedID3:
            parameters.pointee.codec_type = AVMEDIA_TYPE_DATA
            parameters.pointee.codec_id = AV_CODEC_ID_TIMED_ID3
        }
    }

    /// Writes one packet. Timestamps and `duration` are 90 kHz; the muxer copies `data` because it rewrites it
    /// (Annex B, ADTS). A fragment's last sample lasts `duration` in MP4 (0: the muxer guesses).
    public func write(
        stream index: Int, pts: Int64, dts: Int64, duration: Int64 = 0, isKeyframe: Bool, data: UnsafeRawBufferPointer
    ) throws(FFmpegError) {
        guard let context, index < Int(context.pointee.nb_streams) else {
            throw FFmpegError(operation: "write", code: -22, message: "no stream \(index)")
        }
        if data.count <= Self.pooledPacketSize, let buffer = av_buffer_pool_get(packetPool) {
            packet.pointee.buf = buffer
            packet.pointee.data = buffer.pointee.data
            packet.pointee.size = Int32(data.count)
            // The padding after the data must be zero, as av_new_packet leaves it.
            (buffer.pointee.data + data.count).initialize(repeating: 0, count: Int(cuecast_av_input_buffer_padding_size()))
        } else {
            try check(av_new_packet(packet, Int32(data.count)), "av_new_packet")
        }
        defer { av_packet_unref(packet) }
        if let base = data.baseAddress, data.count > 0 {
            packet.pointee.data.update(from: base.assumingMemoryBound(to: UInt8.self), count: data.count)
        }
        packet.pointee.stream_index = Int32(index)
        packet.pointee.pts = pts
        packet.pointee.dts = dts
        packet.pointee.duration = duration
        packet.pointee.time_base = AVRational(num: 1, den: 90000)
        if isKeyframe { packet.pointee.flags |= cuecast_av_pkt_flag_key() }
        av_packet_rescale_ts(packet, AVRational(num: 1, den: 90000), context.pointee.streams[index]!.pointee.time_base)
        try check(av_write_frame(context, packet), "av_write_frame")
    }

    /// Pushes out everything the muxer holds, so the output ends on a frame boundary.
    public func flush() throws(FFmpegError) {
        guard let context else { return }
        try check(av_write_frame(context, nil), "av_write_frame(flush)")
        avio_flush(context.pointee.pb)
    }

    /// Makes the next packet start with PAT and PMT again, as every HLS segment must (MPEG-TS only).
    public func repeatTablesAtNextPacket() throws(FFmpegError) {
        guard let context, container == .mpegTS else { return }
        try check(av_opt_set(context.pointee.priv_data, "mpegts_flags", "+resend_headers", 0), "av_opt_set(mpegts_flags)")
    }

    /// Makes the next fragment's decode time (`tfdt`) each track's next DTS, not the end of the previous fragment
    /// (fragmented MP4 only): after a fragment whose last sample's duration was a guess, the timeline stays the
    /// caller's instead of moving by the guess's error.
    public func startNextFragmentAtItsDTS() throws(FFmpegError) {
        guard let context, container == .fragmentedMP4 else { return }
        try check(av_opt_set(context.pointee.priv_data, "movflags", "+frag_discont", 0), "av_opt_set(movflags)")
    }

    /// Bytes written since the last `drainOutput`.
    public var outputByteCount: Int { sink.bytes.readableBytes }

    /// Bytes the output buffer holds on to, written or not (tests).
    var outputCapacity: Int { sink.bytes.capacity }

    /// Hands the bytes written since the last call to `body`, then empties the output. Up to
    /// `keptOutputCapacity` of the output's memory is kept for what comes next, so a stream's muxer writes into the
    /// same few pages all the time; a larger buffer (a keyframe's part or segment run) is let go rather than held
    /// by every stream until its next keyframe.
    public func drainOutput<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        defer {
            if sink.bytes.capacity > Self.keptOutputCapacity { sink.bytes = ByteBuffer() } else { sink.bytes.clear() }
        }
        try sink.bytes.withUnsafeReadableBytes { bytes throws(E) in try body(bytes) }
    }

    /// Writes the trailer and flushes; the muxer takes no packets afterwards.
    public func finish() throws(FFmpegError) {
        guard let context, headerWritten else { return }
        headerWritten = false
        try check(av_write_trailer(context), "av_write_trailer")
        avio_flush(context.pointee.pb)
    }
}

extension FFmpegError {
    static func outOfMemory(_ operation: String) -> FFmpegError {
        FFmpegError(operation: operation, code: -12, message: "Cannot allocate memory")
    }
}

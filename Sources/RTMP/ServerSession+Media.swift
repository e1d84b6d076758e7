import FLV
import Media
import NIOCore

/// Data and media messages of a publish: decoded into actions, one unreadable message dropped on its own.
extension ServerSession {
    /// One unreadable frame or data message must not end a publish: the chunk stream is intact (the decoder
    /// framed the message), so only this message is lost.
    mutating func dropping(
        _ message: RTMPMessage, _ body: (inout ServerSession) throws(RTMPError) -> [Action]
    ) -> [Action] {
        do {
            return try body(&self)
        } catch {
            return [.dropped(typeID: message.typeID, reason: "\(error)")]
        }
    }

    mutating func handleData(_ message: RTMPMessage) throws(RTMPError) -> [Action] {
        let data = try DataMessage(message, decoder: amf)
        guard isPublishing else { return [.ignored(typeID: message.typeID, reason: "data \(data.handler) before publish")] }
        switch data.handler {
        case "onMetaData":
            let values = data.values.first ?? .null
            return [.metadata(StreamMetadata(values), values: values)]
        case "onCuePoint", "onTextData":
            let time = unwrapper.unwrap(message.timestamp)
            guard let cue = InBandCue(handler: data.handler, values: data.values, timestamp: time) else {
                return [.ignored(typeID: message.typeID, reason: "empty \(data.handler)")]
            }
            return [.cue(cue)]
        default:
            return [.ignored(typeID: message.typeID, reason: "data \(data.handler)")]
        }
    }

    mutating func handleMedia(_ message: RTMPMessage, timestamp: UInt32, payload: ByteBuffer) throws(RTMPError) -> [Action] {
        guard isPublishing else { return [.ignored(typeID: message.typeID, reason: "media before publish")] }
        let isVideo = message.type == .video
        let tag = try decodingFLV { () throws(FLVError) in isVideo ? try FLVTag.video(payload) : try FLVTag.audio(payload) }
        guard let tag else { return [] }
        let dts = unwrapper.unwrap(timestamp)
        let track: Track = message.type == .video ? .video : .audio
        let packet = MediaPacket(
            track: track, codec: tag.codec, kind: tag.kind, dts: dts, pts: dts + Int64(tag.compositionOffset),
            isKeyframe: tag.isKeyframe, payload: tag.body)
        if tag.isUnsupported {
            return [.ignored(typeID: message.typeID, reason: "unsupported \(track.rawValue) codec or packet type")]
        }
        return [.media(packet)]
    }

    /// An aggregate message is a run of FLV tags whose timestamps are relative to the first one. Each sub-tag is
    /// read on its own: a bad one is dropped, the ones before and after it go on; a broken run ends the message.
    mutating func handleAggregate(_ message: RTMPMessage) -> [Action] {
        var body = message.payload
        var actions: [Action] = []
        var firstTimestamp: UInt32?
        while body.readableBytes > 0 {
            guard body.readableBytes >= 11, let type = body.readInteger(as: UInt8.self) else {
                actions.append(.dropped(typeID: message.typeID, reason: "truncated aggregate tag header"))
                break
            }
            let size = Int(body.readUInt24())
            let low = body.readUInt24()
            let high = UInt32(body.readInteger(as: UInt8.self)!)
            _ = body.readUInt24()  // stream id
            guard let data = body.readSlice(length: size), body.readInteger(as: UInt32.self) != nil else {
                actions.append(.dropped(typeID: message.typeID, reason: "truncated aggregate tag"))
                break
            }
            let tagTime = high << 24 | low
            let base = firstTimestamp ?? tagTime
            firstTimestamp = base
            let timestamp = message.timestamp &+ (tagTime &- base)
            var sub = message
            sub.typeID = type
            sub.timestamp = timestamp
            sub.payload = data
            switch sub.type {
            case .audio, .video:
                actions += dropping(sub) { (session) throws(RTMPError) in try session.handleMedia(sub, timestamp: timestamp, payload: data) }
            case .dataAMF0:
                actions += dropping(sub) { (session) throws(RTMPError) in try session.handleData(sub) }
            default: actions.append(.ignored(typeID: type, reason: "aggregate sub-message"))
            }
        }
        return actions
    }
}

import FLV
import Media
import NIOCore

/// The server side of one RTMP connection after the handshake: messages in, actions out.
///
/// It answers the command sequence OBS, ffmpeg and GStreamer send (`connect`, `releaseStream`, `FCPublish`,
/// `createStream`, `publish`, and their endings), turns audio, video and data messages into values, and leaves
/// every decision that needs the outside world (is this key valid?) to its owner through `.authorize`.
public struct ServerSession {
    public struct Configuration: Sendable {
        public var windowAcknowledgementSize: UInt32 = 2_500_000
        public var peerBandwidth: UInt32 = 2_500_000
        public var outgoingChunkSize: UInt32 = 4096
        public var amfMaxDepth = AMF0Decoder.defaultMaxDepth
        /// Bytes of media and data held while a publish is being decided (relays and mobile SDKs send their
        /// metadata, sequence headers and first frames right behind `publish`); what comes past it is dropped.
        /// Each message counts at least `heldMessageCost` bytes, so empty ones cannot pile up unbounded.
        public var maxHeldBytes = 4 << 20
        public var heldMessageCost = 64
        public init() {}
    }

    public enum State: Sendable, Equatable {
        case awaitingConnect
        case connected
        case authorizing(PublishRequest)
        case publishing(PublishRequest)
        case authorizingPlay(PlayRequest)
        case playing(PlayRequest)
        case closed
    }

    public enum Action: Sendable {
        case send(RTMPMessage)
        /// Ask the owner whether this publish may go ahead; answer with `publishAuthorized` or `publishRefused`.
        case authorize(PublishRequest)
        case media(MediaPacket)
        /// `onMetaData`: what it says, and the values as sent (relayed to players).
        case metadata(StreamMetadata, values: AMF0Value)
        case cue(InBandCue)
        /// The client ended its publish but may keep the connection.
        case unpublished(reason: String)
        /// Ask the owner whether this play may go ahead; answer with `playAuthorized` or `playRefused`.
        case authorizePlay(PlayRequest)
        /// The client stopped playing (`deleteStream`, `closeStream`) but may keep the connection.
        case stoppedPlaying(reason: String)
        /// A message that is valid RTMP but that the server does not act on; counted by the owner.
        case ignored(typeID: UInt8, reason: String)
        /// A data or media message whose body does not decode (a malformed tag, AMF it cannot read). It is dropped
        /// and the publish goes on; the owner counts and logs it.
        case dropped(typeID: UInt8, reason: String)
        case close(reason: String)
    }

    public private(set) var state: State = .awaitingConnect
    public private(set) var app: String?
    public private(set) var appQuery: [String: String] = [:]
    public private(set) var tcURL: String?
    public private(set) var flashVersion: String?
    public let configuration: Configuration
    private var nextStreamID: UInt32 = 1
    private var acknowledgements = AcknowledgementWindow()
    /// The acknowledgement window the peer asked for, if it did.
    public var acknowledgementWindowSize: UInt32? { acknowledgements.windowSize }
    var unwrapper = TimestampUnwrapper()
    let amf: AMF0Decoder
    /// Media and data that arrived while the publish was being decided, in order, and their size.
    private var held: [RTMPMessage] = []
    private var heldBytes = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.amf = AMF0Decoder(maxDepth: configuration.amfMaxDepth)
    }

    public var isPublishing: Bool {
        if case .publishing = state { return true }
        return false
    }

    /// Counts bytes read from the socket; may return an Acknowledgement to send. `unread` is how many bytes may
    /// wait unread in the socket (see `AcknowledgementWindow.add`).
    public mutating func bytesReceived(_ count: Int, unread: Int = 0) -> Action? {
        guard let sequence = acknowledgements.add(count, unread: unread) else { return nil }
        return .send(ControlMessage.acknowledgement(sequenceNumber: sequence).message())
    }

    public mutating func receive(_ message: RTMPMessage) throws(RTMPError) -> [Action] {
        guard state != .closed else { return [] }
        if case .authorizing = state, let hold = hold(message) { return hold }
        switch message.type {
        case .setChunkSize, .abort, .acknowledgement, .setPeerBandwidth:
            // Chunk size and abort were applied by the decoder; the others need no answer from a server.
            _ = try ControlMessage(message)
            return []
        case .windowAcknowledgementSize:
            if case .windowAcknowledgementSize(let size) = try ControlMessage(message) {
                acknowledgements.setWindow(size)
            }
            return []
        case .userControl:
            guard case .userControl(let event) = try ControlMessage(message) else { return [] }
            if event.type == UserControlEvent.pingRequest {
                return [.send(ControlMessage.userControl(UserControlEvent(type: UserControlEvent.pingResponse, data: event.data)).message())]
            }
            return []
        case .commandAMF0, .commandAMF3:
            return try handle(try Command(message, decoder: amf))
        case .dataAMF0, .dataAMF3:
            return dropping(message) { (session) throws(RTMPError) in try session.handleData(message) }
        case .audio, .video:
            return dropping(message) { (session) throws(RTMPError) in
                try session.handleMedia(message, timestamp: message.timestamp, payload: message.payload)
            }
        case .aggregate:
            return handleAggregate(message)
        case .sharedObjectAMF0, .sharedObjectAMF3, nil:
            return [.ignored(typeID: message.typeID, reason: "unsupported message type")]
        }
    }

    // MARK: Commands

    private mutating func handle(_ command: Command) throws(RTMPError) -> [Action] {
        switch command.name {
        case "connect":
            guard state == .awaitingConnect else { throw .protocolViolation("second connect") }
            guard let rawApp = command.commandObject["app"]?.stringValue else {
                throw .malformedCommand("connect without app")
            }
            let (appName, query) = PublishRequest.splitQuery(rawApp)
            app = appName.hasSuffix("/") ? String(appName.dropLast()) : appName
            appQuery = query
            tcURL = command.commandObject["tcUrl"]?.stringValue
            flashVersion = command.commandObject["flashVer"]?.stringValue
            state = .connected
            let encoding = command.commandObject["objectEncoding"]?.numberValue ?? 0
            let result = Command(
                name: "_result", transactionID: command.transactionID,
                commandObject: .object([("fmsVer", .string("FMS/3,5,7,7009")), ("capabilities", .number(31)), ("mode", .number(1))]),
                arguments: [
                    .object([
                        ("level", .string("status")), ("code", .string("NetConnection.Connect.Success")),
                        ("description", .string("Connection succeeded.")), ("objectEncoding", .number(encoding)),
                    ])
                ])
            return [
                .send(ControlMessage.windowAcknowledgementSize(configuration.windowAcknowledgementSize).message()),
                .send(ControlMessage.setPeerBandwidth(configuration.peerBandwidth, limitType: 2).message()),
                .send(ControlMessage.setChunkSize(configuration.outgoingChunkSize).message()),
                .send(result.message()),
            ]
        case "releaseStream", "FCPublish", "FCUnpublish", "getStreamLength":
            try requireConnected(command)
            var actions: [Action] = []
            if command.transactionID != 0 {
                actions.append(.send(Command(name: "_result", transactionID: command.transactionID, arguments: [.undefined]).message()))
            }
            if command.name == "FCPublish", let name = command.arguments.first?.stringValue {
                let (bare, _) = PublishRequest.splitQuery(name)
                actions.append(.send(Command(name: "onFCPublish", transactionID: 0, arguments: [
                    .object([("code", .string("NetStream.Publish.Start")), ("description", .string(bare))])
                ]).message()))
            }
            if command.name == "FCUnpublish", case .publishing = state {
                state = .connected
                actions.append(.unpublished(reason: "FCUnpublish"))
            }
            return actions
        case "createStream":
            try requireConnected(command)
            let id = nextStreamID
            nextStreamID += 1
            return [.send(Command(name: "_result", transactionID: command.transactionID, arguments: [.number(Double(id))]).message())]
        case "publish":
            try requireConnected(command)
            guard state == .connected else { throw .protocolViolation("publish while already publishing") }
            guard let rawName = command.arguments.first?.stringValue, !rawName.isEmpty else {
                throw .malformedCommand("publish without a stream name")
            }
            let (name, query) = PublishRequest.splitQuery(rawName)
            let request = PublishRequest(
                app: app ?? "", name: name, query: appQuery.merging(query) { _, new in new },
                publishType: command.arguments.dropFirst().first?.stringValue ?? "live",
                messageStreamID: currentMessageStreamID, tcURL: tcURL, flashVersion: flashVersion)
            state = .authorizing(request)
            return [.authorize(request)]
        case "deleteStream", "closeStream":
            if case .playing = state {
                state = .connected
                return [.stoppedPlaying(reason: command.name)]
            }
            guard case .publishing(let request) = state else { return [] }
            state = .connected
            return [
                .send(Command.onStatus(level: "status", code: "NetStream.Unpublish.Success", description: "\(request.app)/\(request.name) is now unpublished.").message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID)),
                .unpublished(reason: command.name),
            ]
        case "play":
            try requireConnected(command)
            let messageStreamID = currentMessageStreamID
            guard state == .connected else {
                return refusePlay(.failed("play while already publishing or playing"), messageStreamID: messageStreamID)
            }
            guard let rawName = command.arguments.first?.stringValue, !rawName.isEmpty else {
                return refusePlay(.failed("play without a stream name"), messageStreamID: messageStreamID)
            }
            let (name, query) = PublishRequest.splitQuery(rawName)
            guard let app, StreamPath.isValidComponent(app), StreamPath.isValidComponent(name) else {
                return refusePlay(
                    .failed("play path \(app ?? "")/\(name) is not <app>/<stream>"), messageStreamID: messageStreamID)
            }
            let request = PlayRequest(
                app: app, name: name, query: appQuery.merging(query) { _, new in new }, messageStreamID: messageStreamID)
            state = .authorizingPlay(request)
            return [.authorizePlay(request)]
        case "play2":
            return refusePlay(.failed("play2 (stream switching) is not supported"), messageStreamID: currentMessageStreamID)
        case "receiveAudio", "receiveVideo", "FCSubscribe", "FCUnsubscribe":
            // Players send these around `play`; every player here gets both tracks.
            return [.ignored(typeID: MessageType.commandAMF0.rawValue, reason: "command \(command.name)")]
        default:
            return [.ignored(typeID: MessageType.commandAMF0.rawValue, reason: "command \(command.name)")]
        }
    }

    /// The id `createStream` handed out last (1 when the client skipped it).
    private var currentMessageStreamID: UInt32 { max(1, nextStreamID - 1) }

    private func requireConnected(_ command: Command) throws(RTMPError) {
        if state == .awaitingConnect { throw .protocolViolation("\(command.name) before connect") }
    }

    /// Holds a media or data message that arrived while the publish is decided; nil for other messages.
    private mutating func hold(_ message: RTMPMessage) -> [Action]? {
        switch message.type {
        case .audio, .video, .dataAMF0, .dataAMF3, .aggregate:
            let cost = max(configuration.heldMessageCost, message.payload.readableBytes)
            guard heldBytes + cost <= configuration.maxHeldBytes else {
                return [.dropped(typeID: message.typeID, reason: "arrived while the publish was decided, past the \(configuration.maxHeldBytes)-byte hold")]
            }
            heldBytes += cost
            // A copy of its own: a slice would pin the whole socket read it arrived in.
            var copy = message
            copy.payload = ByteBufferAllocator().buffer(buffer: message.payload)
            held.append(copy)
            return []
        default:
            return nil
        }
    }

    /// The owner's answer to `.authorize`: the publish may go ahead. What arrived meanwhile follows the status.
    public mutating func publishAuthorized() -> [Action] {
        guard case .authorizing(let request) = state else { return [] }
        state = .publishing(request)
        let begin = ControlMessage.userControl(.with(type: UserControlEvent.streamBegin, value: request.messageStreamID))
        let start = Command.onStatus(level: "status", code: "NetStream.Publish.Start", description: "\(request.app)/\(request.name) is now published.", details: request.name)
        var actions: [Action] = [.send(begin.message()), .send(start.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID))]
        let early = held
        held = []
        heldBytes = 0
        for message in early {
            // Only media and data are held, and those never throw: an unreadable one comes back as `.dropped`.
            actions += (try? receive(message)) ?? []
        }
        return actions
    }

    /// The owner's answer to `.authorize`: refused. The connection is closed after the status is sent.
    public mutating func publishRefused(_ refusal: PublishRefusal) -> [Action] {
        guard case .authorizing(let request) = state else { return [] }
        state = .closed
        held = []
        heldBytes = 0
        let status = Command.onStatus(level: "error", code: refusal.code, description: refusal.description)
        return [.send(status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID)), .close(reason: "publish refused: \(refusal.description)")]
    }

    private mutating func refusePlay(_ refusal: PlayRefusal, messageStreamID: UInt32) -> [Action] {
        state = .closed
        let status = Command.onStatus(level: "error", code: refusal.code, description: refusal.description)
        return [
            .send(status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: messageStreamID)),
            .close(reason: "play refused: \(refusal.description)"),
        ]
    }

    /// The owner's answer to `.authorizePlay`: the play starts. Stream Begin, `NetStream.Play.Reset` and
    /// `NetStream.Play.Start`, and `|RtmpSampleAccess` (which lets Flash-era players read the pixels), as
    /// nginx-rtmp and SRS send them; the media follows from the owner.
    public mutating func playAuthorized() -> [Action] {
        guard case .authorizingPlay(let request) = state else { return [] }
        state = .playing(request)
        let id = request.messageStreamID
        let stream = "\(request.app)/\(request.name)"
        let begin = ControlMessage.userControl(.with(type: UserControlEvent.streamBegin, value: id))
        let reset = Command.onStatus(level: "status", code: "NetStream.Play.Reset", description: "Playing and resetting \(stream).", details: request.name)
        let start = Command.onStatus(level: "status", code: "NetStream.Play.Start", description: "Started playing \(stream).", details: request.name)
        var access = ByteBuffer()
        access.writeAMF0(.string("|RtmpSampleAccess"))
        access.writeAMF0(.boolean(true))
        access.writeAMF0(.boolean(true))
        let sampleAccess = RTMPMessage(
            chunkStreamID: ChunkStreamID.status, timestamp: 0, typeID: MessageType.dataAMF0.rawValue, messageStreamID: id,
            payload: access)
        return [
            .send(begin.message()),
            .send(reset.message(chunkStreamID: ChunkStreamID.status, messageStreamID: id)),
            .send(start.message(chunkStreamID: ChunkStreamID.status, messageStreamID: id)),
            .send(sampleAccess),
        ]
    }

    /// The server is going away: a publisher is told its publish is over (`NetStream.Unpublish.Success`, as after
    /// its own `deleteStream`), a player that its play stopped (`NetStream.Play.Stop`), each with `reason` as the
    /// description; then the connection closes. Any other state just closes.
    public mutating func shutDown(reason: String) -> [Action] {
        let previous = state
        state = .closed
        switch previous {
        case .publishing(let request):
            let status = Command.onStatus(level: "status", code: "NetStream.Unpublish.Success", description: reason)
            return [
                .send(status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID)),
                .unpublished(reason: "shutdown"), .close(reason: "shutdown"),
            ]
        case .playing(let request):
            let status = Command.onStatus(level: "status", code: "NetStream.Play.Stop", description: reason, details: request.name)
            return [
                .send(status.message(chunkStreamID: ChunkStreamID.status, messageStreamID: request.messageStreamID)),
                .stoppedPlaying(reason: "shutdown"), .close(reason: "shutdown"),
            ]
        default:
            return [.close(reason: "shutdown")]
        }
    }

    /// The owner's answer to `.authorizePlay`: refused. The connection is closed after the status is sent.
    public mutating func playRefused(_ refusal: PlayRefusal) -> [Action] {
        guard case .authorizingPlay(let request) = state else { return [] }
        return refusePlay(refusal, messageStreamID: request.messageStreamID)
    }
}

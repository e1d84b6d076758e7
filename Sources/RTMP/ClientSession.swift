import FLV
import NIOCore

/// The client side of an RTMP publish after the handshake, as CueCast pushes a stream on to a platform: commands
/// out, the server's answers in, actions for the owner. Pure.
///
/// The sequence is the one OBS and FFmpeg send: Set Chunk Size, `connect` (app, tcUrl, flashVer), then on its
/// `_result` `releaseStream`, `FCPublish` and `createStream`, then `publish(key, "live")` on the new message
/// stream, then `NetStream.Publish.Start` (or an error status: the key was refused). Window acknowledgements,
/// Set Peer Bandwidth and pings from the server are honoured; the server's chunk size is the decoder's business.
public struct ClientSession {
    /// Where to publish: `app` and `tcURL` for `connect`, `streamName` (the key, with any query) for `publish`.
    public struct Target: Sendable, Equatable {
        public var app: String
        public var tcURL: String
        public var streamName: String

        public init(app: String, tcURL: String, streamName: String) {
            self.app = app
            self.tcURL = tcURL
            self.streamName = streamName
        }
    }

    public enum State: Sendable, Equatable {
        case idle
        case connecting
        case creatingStream
        case publishing(messageStreamID: UInt32)
        case live(messageStreamID: UInt32)
        case refused
    }

    public enum Action: Sendable {
        case send(RTMPMessage)
        /// `NetStream.Publish.Start`: media may go out on `messageStreamID`.
        case published(messageStreamID: UInt32)
        /// The server said no: `code` (`NetStream.Publish.BadName`, `…Denied`, `NetConnection.Connect.Rejected`) and
        /// its description. The owner closes the connection.
        case refused(code: String, description: String)
    }

    /// Our outgoing chunk size, sent first.
    public static let chunkSize: UInt32 = 4096
    public static let flashVersion = "FMLE/3.0 (compatible; CueCast)"

    public let target: Target
    public private(set) var state = State.idle
    private var acknowledgements = AcknowledgementWindow()

    public init(target: Target) {
        self.target = target
    }

    /// What goes out right after the handshake.
    public mutating func start() -> [Action] {
        state = .connecting
        let connect = Command(
            name: "connect", transactionID: 1,
            commandObject: .object([
                ("app", .string(target.app)), ("type", .string("nonprivate")), ("flashVer", .string(Self.flashVersion)),
                ("tcUrl", .string(target.tcURL)),
            ]))
        return [.send(ControlMessage.setChunkSize(Self.chunkSize).message()), .send(connect.message())]
    }

    /// Counts bytes read from the socket; may return an Acknowledgement to send.
    public mutating func bytesReceived(_ count: Int) -> Action? {
        guard let sequence = acknowledgements.add(count) else { return nil }
        return .send(ControlMessage.acknowledgement(sequenceNumber: sequence).message())
    }

    /// One message from the server.
    /// - Throws: `RTMPError` for a control message or command that does not parse.
    public mutating func receive(_ message: RTMPMessage) throws(RTMPError) -> [Action] {
        switch message.type {
        case .windowAcknowledgementSize:
            if case .windowAcknowledgementSize(let size) = try ControlMessage(message) { acknowledgements.setWindow(size) }
            return []
        case .setPeerBandwidth:
            // The peer asks us to acknowledge at this window too; say we will (RTMP 1.0 §5.4.5).
            guard case .setPeerBandwidth(let size, _) = try ControlMessage(message) else { return [] }
            return [.send(ControlMessage.windowAcknowledgementSize(size).message())]
        case .userControl:
            guard case .userControl(let event) = try ControlMessage(message), event.type == UserControlEvent.pingRequest else {
                return []
            }
            return [.send(ControlMessage.userControl(UserControlEvent(type: UserControlEvent.pingResponse, data: event.data)).message())]
        case .commandAMF0, .commandAMF3:
            return handle(try Command(message))
        default:
            return []
        }
    }

    private mutating func handle(_ command: Command) -> [Action] {
        switch (command.name, command.transactionID) {
        case ("_result", 1) where state == .connecting:
            state = .creatingStream
            let key = target.streamName
            return [
                .send(Command(name: "releaseStream", transactionID: 2, arguments: [.string(key)]).message()),
                .send(Command(name: "FCPublish", transactionID: 3, arguments: [.string(key)]).message()),
                .send(Command(name: "createStream", transactionID: 4).message()),
            ]
        case ("_error", 1):
            state = .refused
            let info = command.arguments.first
            return [.refused(code: info?["code"]?.stringValue ?? "NetConnection.Connect.Rejected", description: info?["description"]?.stringValue ?? "connect refused")]
        case ("_result", 4) where state == .creatingStream:
            guard let id = command.arguments.first(where: { $0.numberValue != nil })?.numberValue, id >= 1, id < 16_777_216 else {
                state = .refused
                return [.refused(code: "NetConnection.Call.Failed", description: "createStream answered without a stream id")]
            }
            let streamID = UInt32(id)
            state = .publishing(messageStreamID: streamID)
            let publish = Command(name: "publish", transactionID: 5, arguments: [.string(target.streamName), .string("live")])
            return [.send(publish.message(chunkStreamID: 8, messageStreamID: streamID))]
        case ("_error", 4):
            state = .refused
            return [.refused(code: "NetConnection.Call.Failed", description: "createStream refused")]
        case ("onStatus", _):
            guard let info = command.arguments.first, let code = info["code"]?.stringValue else { return [] }
            let description = info["description"]?.stringValue ?? ""
            if code == "NetStream.Publish.Start", case .publishing(let id) = state {
                state = .live(messageStreamID: id)
                return [.published(messageStreamID: id)]
            }
            if info["level"]?.stringValue == "error" || code.hasSuffix(".BadName") || code.hasSuffix(".Denied") || code.hasSuffix(".Rejected") {
                state = .refused
                return [.refused(code: code, description: description)]
            }
            return []
        default:
            // onBWDone, onFCPublish, the _result of releaseStream/FCPublish (or their _error: many servers have
            // neither command): nothing to do.
            return []
        }
    }

    /// The polite end of a publish: `FCUnpublish` and `deleteStream`, before the connection closes.
    public func unpublish() -> [RTMPMessage] {
        guard case .live(let id) = state else { return [] }
        return [
            Command(name: "FCUnpublish", transactionID: 6, arguments: [.string(target.streamName)]).message(),
            Command(name: "deleteStream", transactionID: 7, arguments: [.number(Double(id))]).message(),
        ]
    }
}

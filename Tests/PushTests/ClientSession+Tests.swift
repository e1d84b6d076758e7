import FLV
import NIOCore
import Testing

@testable import RTMP

/// The publish sequence CueCast speaks as a client, checked against what OBS/FFmpeg send and servers answer.
@Suite struct ClientSessionTests {
    static let target = ClientSession.Target(app: "live", tcURL: "rtmp://host/live", streamName: "KEY?sign=1")

    func commands(_ actions: [ClientSession.Action]) throws -> [Command] {
        try actions.compactMap { action -> Command? in
            guard case .send(let message) = action, message.type == .commandAMF0 else { return nil }
            return try Command(message)
        }
    }

    static func result(_ transaction: Double, _ arguments: [AMF0Value]) -> RTMPMessage {
        Command(name: "_result", transactionID: transaction, arguments: arguments).message()
    }

    static func status(_ code: String, level: String = "status") -> RTMPMessage {
        Command.onStatus(level: level, code: code, description: "d").message(chunkStreamID: 5, messageStreamID: 1)
    }

    @Test func connectCreateStreamPublishThenLive() throws {
        var session = ClientSession(target: Self.target)
        let first = session.start()
        guard case .send(let setChunkSize) = first.first else { throw RTMPError.protocolViolation("no chunk size") }
        #expect(try ControlMessage(setChunkSize) == .setChunkSize(4096))
        let connect = try #require(try commands(first).first)
        #expect(connect.name == "connect")
        #expect(connect.commandObject["app"]?.stringValue == "live")
        #expect(connect.commandObject["tcUrl"]?.stringValue == "rtmp://host/live")
        #expect(connect.commandObject["flashVer"]?.stringValue?.hasPrefix("FMLE/3.0") == true)

        let afterConnect = try commands(try session.receive(Self.result(1, [.object([("code", .string("NetConnection.Connect.Success"))])])))
        #expect(afterConnect.map(\.name) == ["releaseStream", "FCPublish", "createStream"])
        #expect(afterConnect[0].arguments.first?.stringValue == "KEY?sign=1")

        let publishActions = try session.receive(Self.result(4, [.number(7)]))
        guard case .send(let publishMessage) = publishActions.first else { throw RTMPError.protocolViolation("no publish") }
        let publish = try Command(publishMessage)
        #expect(publish.name == "publish")
        #expect(publish.arguments.map(\.stringValue) == ["KEY?sign=1", "live"])
        #expect(publishMessage.messageStreamID == 7)

        #expect(try session.receive(Self.status("NetStream.Publish.Start")).contains {
            if case .published(7) = $0 { true } else { false }
        })
        #expect(session.state == .live(messageStreamID: 7))
        #expect(try session.unpublish().map { try Command($0).name } == ["FCUnpublish", "deleteStream"])
    }

    @Test(arguments: ["NetStream.Publish.BadName", "NetStream.Publish.Denied", "NetConnection.Connect.Rejected"])
    func refusalsAreReported(_ code: String) throws {
        var session = ClientSession(target: Self.target)
        _ = session.start()
        _ = try session.receive(Self.result(1, []))
        _ = try session.receive(Self.result(4, [.number(1)]))
        let actions = try session.receive(Self.status(code, level: "error"))
        guard case .refused(let got, _) = actions.first else { throw RTMPError.protocolViolation("not refused: \(actions)") }
        #expect(got == code)
        #expect(session.state == .refused)
    }

    @Test func controlMessagesAreHonoured() throws {
        var session = ClientSession(target: Self.target)
        _ = session.start()
        #expect(try session.receive(ControlMessage.windowAcknowledgementSize(100).message()).isEmpty)
        #expect(session.bytesReceived(60) == nil)
        guard case .send(let ack) = session.bytesReceived(60) else { throw RTMPError.protocolViolation("no acknowledgement") }
        #expect(try ControlMessage(ack) == .acknowledgement(sequenceNumber: 120))
        guard case .send(let window) = try session.receive(ControlMessage.setPeerBandwidth(5_000_000, limitType: 2).message()).first else {
            throw RTMPError.protocolViolation("no window answer")
        }
        #expect(try ControlMessage(window) == .windowAcknowledgementSize(5_000_000))
        let ping = ControlMessage.userControl(.with(type: UserControlEvent.pingRequest, value: 99)).message()
        guard case .send(let pong) = try session.receive(ping).first else { throw RTMPError.protocolViolation("no pong") }
        #expect(try ControlMessage(pong) == .userControl(.with(type: UserControlEvent.pingResponse, value: 99)))
    }

    /// C1 carries a valid Flash-9 digest (servers that check accept it), C2 echoes S1.
    @Test func clientHandshake() throws {
        let hello = Handshake.clientHello(time: 5) { bytes in for i in bytes.indices { bytes[i] = UInt8(i % 251) } }
        #expect(hello.readableBytes == 1537)
        #expect(hello.getInteger(at: 0, as: UInt8.self) == 3)
        let c1 = Array(hello.getBytes(at: 1, length: 1536)!)
        #expect(Handshake.findDigest(in: c1, key: Handshake.clientKeyText) != nil)
        // The server side of CueCast recognises it as a digest client.
        #expect(try Handshake.reply(c0c1: hello).clientKind == .digest(scheme: 0))
        var s0s1s2 = ByteBuffer(bytes: [3])
        s0s1s2.writeBytes((0..<1536).map { UInt8($0 & 0x7F) })
        s0s1s2.writeBytes(Array(repeating: 1, count: 1536))
        #expect(Array(try Handshake.clientAnswer(s0s1s2: s0s1s2).readableBytesView) == (0..<1536).map { UInt8($0 & 0x7F) })
        var wrong = s0s1s2
        wrong.setInteger(UInt8(6), at: 0)
        #expect(throws: RTMPError.unsupportedVersion(6)) { try Handshake.clientAnswer(s0s1s2: wrong) }
    }
}

import FLV
import Media
import NIOCore
import Testing

@testable import RTMP

@Suite struct ServerSessionTests {
    func sent(_ actions: [ServerSession.Action]) -> [RTMPMessage] {
        actions.compactMap { if case .send(let m) = $0 { m } else { nil } }
    }

    func commands(_ actions: [ServerSession.Action]) throws -> [Command] {
        try sent(actions).filter { $0.type == .commandAMF0 }.map { try Command($0) }
    }

    func connect(_ session: inout ServerSession, app: String = "live") throws -> [ServerSession.Action] {
        let command = Command(name: "connect", transactionID: 1, commandObject: .object([
            ("app", .string(app)), ("flashVer", .string("FMLE/3.0")), ("tcUrl", .string("rtmp://h/\(app)")),
        ]))
        return try session.receive(command.message())
    }

    func startPublishing(_ session: inout ServerSession, name: String = "sk_x") throws -> PublishRequest {
        _ = try connect(&session)
        _ = try session.receive(Command(name: "createStream", transactionID: 4).message())
        let actions = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string(name), .string("live")]).message(messageStreamID: 1))
        guard case .authorize(let request) = actions.first else { throw RTMPError.protocolViolation("no authorize") }
        _ = session.publishAuthorized()
        return request
    }

    @Test func connectRepliesAsClientsExpect() throws {
        var session = ServerSession()
        let actions = try connect(&session)
        let messages = sent(actions)
        #expect(messages.map(\.typeID) == [5, 6, 1, 20])
        #expect(try ControlMessage(messages[2]) == .setChunkSize(4096))
        let result = try Command(messages[3])
        #expect(result.name == "_result")
        #expect(result.transactionID == 1)
        #expect(result.arguments.first?["code"]?.stringValue == "NetConnection.Connect.Success")
        #expect(session.state == .connected)
        #expect(session.app == "live")
    }

    @Test func publishSequence() throws {
        var session = ServerSession()
        _ = try connect(&session)
        let release = try commands(try session.receive(Command(name: "releaseStream", transactionID: 2, arguments: [.string("k")]).message()))
        #expect(release.map(\.name) == ["_result"])
        let fcPublish = try commands(try session.receive(Command(name: "FCPublish", transactionID: 3, arguments: [.string("k")]).message()))
        #expect(fcPublish.map(\.name) == ["_result", "onFCPublish"])
        let created = try commands(try session.receive(Command(name: "createStream", transactionID: 4).message()))
        #expect(created.first?.arguments.first?.numberValue == 1)

        let actions = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string("shop1?key=sk_abc&x=%41"), .string("live")]).message(messageStreamID: 1))
        guard case .authorize(let request) = actions.first else {
            Issue.record("expected authorize, got \(actions)")
            return
        }
        #expect(request.app == "live")
        #expect(request.name == "shop1")
        #expect(request.query == ["key": "sk_abc", "x": "A"])
        #expect(request.messageStreamID == 1)

        let started = sent(session.publishAuthorized())
        #expect(started.count == 2)
        #expect(try ControlMessage(started[0]) == .userControl(.with(type: UserControlEvent.streamBegin, value: 1)))
        let status = try Command(started[1])
        #expect(status.arguments.first?["code"]?.stringValue == "NetStream.Publish.Start")
        #expect(started[1].messageStreamID == 1)
        #expect(session.isPublishing)
    }

    @Test func refusedPublishSendsStatusThenCloses() throws {
        var session = ServerSession()
        _ = try connect(&session)
        _ = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string("bad")]).message())
        let actions = session.publishRefused(.badName("unknown or revoked stream key"))
        let status = try commands(actions)
        #expect(status.first?.arguments.first?["code"]?.stringValue == "NetStream.Publish.BadName")
        #expect(status.first?.arguments.first?["level"]?.stringValue == "error")
        guard case .close = actions.last else {
            Issue.record("expected close")
            return
        }
        #expect(session.state == .closed)
    }

    @Test func playAsksTheOwnerThenStarts() throws {
        var session = ServerSession()
        _ = try connect(&session)
        let actions = try session.receive(Command(name: "play", transactionID: 0, arguments: [.string("x?token=1")]).message())
        guard case .authorizePlay(let request) = actions.first else {
            Issue.record("expected authorizePlay, got \(actions)")
            return
        }
        #expect(request.app == "live" && request.name == "x" && request.query["token"] == "1")
        let started = session.playAuthorized()
        let codes = try commands(started).compactMap { $0.arguments.first?["code"]?.stringValue }
        #expect(codes == ["NetStream.Play.Reset", "NetStream.Play.Start"])
        let data = started.compactMap { action -> String? in
            guard case .send(let message) = action, message.type == .dataAMF0 else { return nil }
            return try? DataMessage(message).handler
        }
        #expect(data == ["|RtmpSampleAccess"])
        #expect(session.state == .playing(request))
        guard case .stoppedPlaying = try session.receive(Command(name: "deleteStream", transactionID: 0, arguments: [.number(1)]).message()).first
        else {
            Issue.record("deleteStream should stop the play")
            return
        }
    }

    @Test(arguments: [
        ("", "play without a stream name"), ("a/b", "is not <app>/<stream>"), ("../x", "is not <app>/<stream>"),
    ])
    func playOfABadPathFails(name: String, reason: String) throws {
        var session = ServerSession()
        _ = try connect(&session)
        let actions = try session.receive(Command(name: "play", transactionID: 0, arguments: [.string(name)]).message())
        let status = try commands(actions).first?.arguments.first
        #expect(status?["code"]?.stringValue == "NetStream.Play.Failed")
        #expect(status?["description"]?.stringValue?.contains(reason) == true, "\(String(describing: status))")
        guard case .close = actions.last else {
            Issue.record("expected close")
            return
        }
    }

    @Test func refusedPlayClosesWithStreamNotFound() throws {
        var session = ServerSession()
        _ = try connect(&session)
        _ = try session.receive(Command(name: "play", transactionID: 0, arguments: [.string("nobody")]).message())
        let actions = session.playRefused(.streamNotFound("no stream live/nobody"))
        #expect(try commands(actions).first?.arguments.first?["code"]?.stringValue == "NetStream.Play.StreamNotFound")
        #expect(session.state == .closed)
    }

    @Test func commandsBeforeConnectAreProtocolErrors() {
        var session = ServerSession()
        #expect(throws: RTMPError.self) { try session.receive(Command(name: "publish", transactionID: 1, arguments: [.string("x")]).message()) }
    }

    @Test func mediaBecomesPacketsWithPTS() throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        let video = RTMPMessage(chunkStreamID: 6, timestamp: 1000, typeID: 9, messageStreamID: 1, payload: ByteBuffer(bytes: [0x27, 0x01, 0, 0, 67, 0, 0, 0, 1, 0x41]))
        let actions = try session.receive(video)
        guard case .media(let packet) = actions.first else {
            Issue.record("expected media, got \(actions)")
            return
        }
        #expect(packet.track == .video)
        #expect(packet.dts == 1000)
        #expect(packet.pts == 1067)
        #expect(!packet.isKeyframe)
    }

    @Test func mediaBeforePublishIsIgnored() throws {
        var session = ServerSession()
        _ = try connect(&session)
        let actions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 8, messageStreamID: 1, payload: ByteBuffer(bytes: [0xAF, 1, 0])))
        guard case .ignored = actions.first else {
            Issue.record("expected ignored")
            return
        }
    }

    @Test func metadataAndCuesAreDecoded() throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        var payload = ByteBuffer()
        payload.writeAMF0(.string("@setDataFrame"))
        payload.writeAMF0(.string("onMetaData"))
        payload.writeAMF0(.ecmaArray([("width", .number(640)), ("height", .number(360)), ("framerate", .number(30)), ("encoder", .string("obs-output module (libobs version 30.0.0)"))]))
        let meta = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 18, messageStreamID: 1, payload: payload))
        guard case .metadata(let metadata, let values) = meta.first else {
            Issue.record("expected metadata")
            return
        }
        #expect(values["width"]?.numberValue == 640, "the values as sent are kept for players")
        #expect(metadata.width == 640)
        #expect(metadata.frameRate == 30)
        #expect(metadata.encoder?.hasPrefix("obs-output") == true)

        var cue = ByteBuffer()
        cue.writeAMF0(.string("onCuePoint"))
        cue.writeAMF0(.object([("name", .string("pin")), ("time", .number(1.5)), ("type", .string("event")), ("parameters", .object([("sku", .string("A1"))]))]))
        let cueActions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 1500, typeID: 18, messageStreamID: 1, payload: cue))
        guard case .cue(let inBand) = cueActions.first else {
            Issue.record("expected cue")
            return
        }
        #expect(inBand.name == "pin")
        #expect(inBand.timestamp == 1500)
        #expect(inBand.parameters == ["sku": "A1"])

        var text = ByteBuffer()
        text.writeAMF0(.string("onTextData"))
        text.writeAMF0(.object([("text", .string("{\"kind\":\"announcement\"}"))]))
        guard case .cue(let textCue) = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 2000, typeID: 18, messageStreamID: 1, payload: text)).first else {
            Issue.record("expected text cue")
            return
        }
        #expect(textCue.kind == .textData)
        #expect(textCue.text == "{\"kind\":\"announcement\"}")
    }

    /// objectEncoding 3 publishers: `@setDataFrame onMetaData` as a type 15 message whose object is AMF3 behind
    /// the switch marker. It reads like AMF0 metadata, and reaches players as AMF0.
    @Test func amf3MetadataIsRead() throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        var payload = ByteBuffer(bytes: [0])
        payload.writeAMF0(.string("@setDataFrame"))
        payload.writeAMF0(.string("onMetaData"))
        payload.writeAMF0(.amf3(.object(className: "", [("width", .integer(320)), ("height", .integer(180)), ("framerate", .integer(30)), ("stereo", .boolean(true)), ("encoder", .string("AS3 NetStream"))])))
        let actions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 15, messageStreamID: 1, payload: payload))
        guard case .metadata(let metadata, let values) = actions.first else {
            Issue.record("expected metadata, got \(actions)")
            return
        }
        #expect(metadata.width == 320)
        #expect(metadata.height == 180)
        #expect(metadata.frameRate == 30)
        #expect(metadata.audioChannels == 2)
        #expect(metadata.encoder == "AS3 NetStream")
        #expect(values == .object([("width", .number(320)), ("height", .number(180)), ("framerate", .number(30)), ("stereo", .boolean(true)), ("encoder", .string("AS3 NetStream"))]))
    }

    /// A data or media message whose body does not decode is dropped; the publish goes on with the next one.
    @Test(arguments: [
        (UInt8(18), [0x02, 0x00, 0x0A, 0x6F]),  // truncated AMF0 string
        (UInt8(15), [0x00, 0x02, 0x00, 0x01, 0x61, 0x11, 0x0A, 0x07, 0x01]),  // AMF3 externalizable object
        (UInt8(18), [0x0D]),  // reserved AMF0 marker
        (UInt8(9), [0x17]),  // AVC tag with no packet type
        (UInt8(8), [0xAF]),  // AAC tag with no packet type
        (UInt8(22), [9, 0, 0, 40]),  // truncated aggregate
    ])
    func unreadableMessagesAreDroppedNotFatal(_ type: UInt8, _ body: [UInt8]) throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        let actions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: type, messageStreamID: 1, payload: ByteBuffer(bytes: body)))
        guard case .dropped(let typeID, let reason) = actions.first, actions.count == 1 else {
            Issue.record("expected one dropped, got \(actions)")
            return
        }
        #expect(typeID == type)
        #expect(!reason.isEmpty)
        #expect(session.isPublishing)
        let video = RTMPMessage(chunkStreamID: 6, timestamp: 40, typeID: 9, messageStreamID: 1, payload: ByteBuffer(bytes: [0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]))
        guard case .media = try session.receive(video).first else {
            Issue.record("the next frame must go through")
            return
        }
    }

    /// One unreadable tag inside an aggregate message costs that tag only.
    @Test func aBadTagInAnAggregateCostsOnlyThatTag() throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        func tag(_ type: UInt8, _ time: UInt32, _ body: [UInt8]) -> [UInt8] {
            let size = UInt32(body.count)
            return [type, UInt8(size >> 16), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF), UInt8(time >> 16 & 0xFF), UInt8(time >> 8 & 0xFF),
                UInt8(time & 0xFF), UInt8(time >> 24), 0, 0, 0] + body + [0, 0, 0, UInt8(11 + body.count)]
        }
        let bytes = tag(9, 100, [0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]) + tag(9, 133, [0x17]) + tag(8, 140, [0xAF, 0x01, 0x21])
        let actions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 1000, typeID: 22, messageStreamID: 1, payload: ByteBuffer(bytes: bytes)))
        let kinds = actions.map { action -> String in
            switch action {
            case .media(let packet): "\(packet.track) \(packet.dts)"
            case .dropped(let type, _): "dropped \(type)"
            default: "other"
            }
        }
        #expect(kinds == ["video 1000", "dropped 9", "audio 1040"])
    }

    /// nginx-rtmp's push and mobile SDKs send metadata, sequence headers and frames right behind `publish`. They
    /// are held while the owner decides and follow the status once it is yes, in order; on no, they are gone.
    @Test func mediaBehindPublishIsHeldUntilDecided() throws {
        var session = ServerSession()
        _ = try connect(&session)
        _ = try session.receive(Command(name: "createStream", transactionID: 4).message())
        _ = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string("k"), .string("live")]).message(messageStreamID: 1))
        var meta = ByteBuffer()
        meta.writeAMF0(.string("@setDataFrame"))
        meta.writeAMF0(.string("onMetaData"))
        meta.writeAMF0(.ecmaArray([("width", .number(320))]))
        let early = [
            RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 18, messageStreamID: 1, payload: meta),
            RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: ByteBuffer(bytes: [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F, 0xFF])),
            RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 8, messageStreamID: 1, payload: ByteBuffer(bytes: [0xAF, 0, 0x12, 0x10])),
            RTMPMessage(chunkStreamID: 6, timestamp: 33, typeID: 9, messageStreamID: 1, payload: ByteBuffer(bytes: [0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65])),
        ]
        for message in early {
            #expect(try session.receive(message).isEmpty, "held, not acted on yet")
        }
        let actions = session.publishAuthorized()
        #expect(sent(actions).count == 2, "Stream Begin and NetStream.Publish.Start first")
        let after = actions.dropFirst(2).map { action -> String in
            switch action {
            case .metadata: "metadata"
            case .media(let packet): "\(packet.track) \(packet.kind) \(packet.dts)"
            default: "other"
            }
        }
        #expect(after == ["metadata", "video sequenceHeader 0", "audio sequenceHeader 0", "video frame 33"])

        var refused = ServerSession()
        _ = try connect(&refused)
        _ = try refused.receive(Command(name: "publish", transactionID: 5, arguments: [.string("k")]).message(messageStreamID: 1))
        _ = try refused.receive(early[3])
        #expect(!refused.publishRefused(.badName("no")).contains { if case .media = $0 { true } else { false } })
    }

    /// Empty messages cost something too, so a client cannot pile them up while the key is checked.
    @Test func emptyMessagesCountAgainstTheHold() throws {
        var session = ServerSession()
        _ = try connect(&session)
        _ = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string("k")]).message(messageStreamID: 1))
        let empty = RTMPMessage(chunkStreamID: 4, timestamp: 0, typeID: 8, messageStreamID: 1, payload: ByteBuffer())
        var held = 0
        for _ in 0..<100_000 where try session.receive(empty).isEmpty { held += 1 }
        #expect(held == (4 << 20) / 64)
    }

    @Test func theHoldIsBounded() throws {
        var configuration = ServerSession.Configuration()
        configuration.maxHeldBytes = 100
        var session = ServerSession(configuration: configuration)
        _ = try connect(&session)
        _ = try session.receive(Command(name: "publish", transactionID: 5, arguments: [.string("k")]).message(messageStreamID: 1))
        let frame = RTMPMessage(chunkStreamID: 6, timestamp: 0, typeID: 9, messageStreamID: 1, payload: ByteBuffer(bytes: [0x17, 1, 0, 0, 0] + Array(repeating: 0, count: 55)))
        #expect(try session.receive(frame).isEmpty)
        guard case .dropped(9, let reason) = try session.receive(frame).first else {
            Issue.record("the second 60-byte frame is past a 100-byte hold")
            return
        }
        #expect(reason.contains("100-byte hold"))
        #expect(session.publishAuthorized().filter { if case .media = $0 { true } else { false } }.count == 1)
    }

    @Test func amf3CommandWithAMF0Body() throws {
        var session = ServerSession()
        var payload = ByteBuffer(bytes: [0])
        payload.writeAMF0(.string("connect"))
        payload.writeAMF0(.number(1))
        payload.writeAMF0(.object([("app", .string("live"))]))
        _ = try session.receive(RTMPMessage(chunkStreamID: 3, timestamp: 0, typeID: 17, messageStreamID: 0, payload: payload))
        #expect(session.state == .connected)
    }

    @Test func pingIsAnswered() throws {
        var session = ServerSession()
        let ping = ControlMessage.userControl(.with(type: UserControlEvent.pingRequest, value: 1234)).message()
        let reply = sent(try session.receive(ping))
        #expect(try reply.map { try ControlMessage($0) } == [.userControl(.with(type: UserControlEvent.pingResponse, value: 1234))])
    }

    @Test func acknowledgementsFollowThePeersWindow() throws {
        var session = ServerSession()
        #expect(session.bytesReceived(10_000) == nil)
        _ = try session.receive(ControlMessage.windowAcknowledgementSize(1000).message())
        guard case .send(let ack) = session.bytesReceived(500) else {
            Issue.record("expected an acknowledgement")
            return
        }
        #expect(try ControlMessage(ack) == .acknowledgement(sequenceNumber: 10_500))
        #expect(session.bytesReceived(10) == nil)
    }

    /// Bytes may wait unread below the receive low watermark: the acknowledgement goes out that much early.
    @Test func acknowledgementsCoverBytesThatMayWaitUnread() throws {
        var session = ServerSession()
        _ = try session.receive(ControlMessage.windowAcknowledgementSize(64_000).message())
        #expect(session.bytesReceived(48_000, unread: 15_999) == nil)
        guard case .send(let ack) = session.bytesReceived(1, unread: 15_999) else {
            Issue.record("expected an acknowledgement 15 999 bytes before the window is full")
            return
        }
        #expect(try ControlMessage(ack) == .acknowledgement(sequenceNumber: 48_001))
        #expect(session.bytesReceived(48_000, unread: 0) == nil)
        #expect(session.bytesReceived(16_000, unread: 0) != nil)
    }

    @Test func aggregateMessagesAreSplit() throws {
        var session = ServerSession()
        _ = try startPublishing(&session)
        var body = ByteBuffer()
        for (index, tag) in [[UInt8(0xAF), 0x01, 0x11], [0xAF, 0x01, 0x22]].enumerated() {
            body.writeInteger(UInt8(8))
            body.writeBytes([0, 0, UInt8(tag.count)])
            body.writeBytes([0, 0, UInt8(100 + index * 23), 0])
            body.writeBytes([0, 0, 0])
            body.writeBytes(tag)
            body.writeInteger(UInt32(11 + tag.count))
        }
        let actions = try session.receive(RTMPMessage(chunkStreamID: 4, timestamp: 5000, typeID: 22, messageStreamID: 1, payload: body))
        let times = actions.compactMap { if case .media(let p) = $0 { p.dts } else { nil } }
        #expect(times == [5000, 5023])
    }
}

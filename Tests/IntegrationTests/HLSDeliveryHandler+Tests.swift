import HLS
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing

@testable import Web

/// `HLSDeliveryHandler`'s place in the pipeline and what it passes on, with NIO's `EmbeddedChannel`.
@Suite struct HLSDeliveryHandlerTests {
    let routes = HLSRoutes(store: HLSStore(), corsOrigin: "*")
    let logger = Logger(label: "test")

    /// What reaches the handlers after `HLSDeliveryHandler`: Hummingbird's router side.
    final class Downstream: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var writability: [Bool] = []
        var reads: [HTTPServerRequestPart] = []
        var readCompletes = 0

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            writability.append(context.channel.isWritable)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            reads.append(unwrapInboundIn(data))
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            readCompletes += 1
        }
    }

    /// A channel with `HLSDeliveryHandler` and, after it, what the router side gets.
    func deliveryBeforeDownstream() throws -> (EmbeddedChannel, Downstream) {
        let downstream = Downstream()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            HLSDeliveryHandler(responder: HLSResponder(store: HLSStore()), sendfile: true, serverName: "test", logger: logger), downstream,
        ])
        return (channel, downstream)
    }

    /// Handler names in pipeline order, from NIO's description of the pipeline.
    func handlerOrder(_ channel: EmbeddedChannel, _ names: [String]) -> [String] {
        let text = channel.pipeline.debugDescription
        return names.compactMap { name in text.range(of: name).map { (name, $0.lowerBound) } }.sorted { $0.1 < $1.1 }.map(\.0)
    }

    @Test func installerPutsTheHandlersBeforeTheHTTPTypesCodecAndLeaves() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandlers(routes.pipelineHandlers(serverName: "test", logger: logger))
        #expect(
            handlerOrder(channel, ["BackPressureHandler", "HLSDeliveryHandler", "HTTP1ToHTTPServerCodec", "HLSPipelineInstaller"])
                == ["BackPressureHandler", "HLSDeliveryHandler", "HTTP1ToHTTPServerCodec"])
    }

    @Test func withoutTheCodecReadingIsStillPacedByTheClient() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandlers(routes.pipelineHandlers(serverName: "test", logger: logger))
        #expect(
            handlerOrder(channel, ["BackPressureHandler", "HLSDeliveryHandler", "HLSPipelineInstaller"]) == ["BackPressureHandler"])
    }

    @Test func writabilityReachesTheRouterWhenItHasAResponseToWrite() throws {
        let (channel, downstream) = try deliveryBeforeDownstream()
        defer { _ = try? channel.finish() }
        func writable(_ value: Bool) {
            channel.isWritable = value
            channel.pipeline.fireChannelWritabilityChanged()
        }

        // A segment answered in place makes the channel unwritable and writable again: nothing downstream cares.
        writable(false)
        writable(true)
        writable(false)
        #expect(downstream.writability.isEmpty)

        // A request for the router arrives while the channel is unwritable: the router hears that first.
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/streams")))
        #expect(downstream.writability == [false])
        #expect(downstream.reads.count == 1)
        writable(true)
        #expect(downstream.writability == [false, true])

        // While the router answers, every change reaches it.
        writable(false)
        #expect(downstream.writability == [false, true, false])
        // Once its response has ended, only the change back to writable does.
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        writable(true)
        writable(false)
        writable(true)
        #expect(downstream.writability == [false, true, false, true])
    }

    @Test func theEndOfAReadReachesTheRouterOnlyAfterItGotSomething() throws {
        let (channel, downstream) = try deliveryBeforeDownstream()
        defer { _ = try? channel.finish() }
        channel.pipeline.fireChannelReadComplete()
        #expect(downstream.readCompletes == 0)
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/streams")))
        #expect(downstream.readCompletes == 1)
        channel.pipeline.fireChannelReadComplete()
        #expect(downstream.readCompletes == 1)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(downstream.readCompletes == 2)
        #expect(downstream.reads.count == 2)
    }
}

/// RFC 9110 §14.2 and §15.5.17 for a 1 000-byte segment: which Range headers get 206, 200 or 416.
@Suite struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-1", ByteRange.range(0..<2)), ("bytes=-188", .range(812..<1000)), ("bytes=188-", .range(188..<1000)),
        ("bytes=0-9999", .range(0..<1000)), ("bytes=-5000", .range(0..<1000)), ("BYTES=10-19", .range(10..<20)),
        ("bytes=1000-", .unsatisfiable), ("bytes=5000-6000", .unsatisfiable), ("bytes=-0", .unsatisfiable),
        ("bytes=0-1,188-189", .whole), ("frames=0-10", .whole), ("bytes=abc", .whole), ("bytes=5-2", .whole),
        ("bytes=", .whole), ("bytes=-", .whole), ("bytes=+1-2", .whole), ("bytes=1-2-3", .whole),
    ])
    func ranges(_ header: String, _ expected: ByteRange) {
        #expect(ByteRange.parse(header, length: 1000) == expected)
    }
}

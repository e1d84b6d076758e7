import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Web

/// The HTTP (or HTTPS) listener as a service: Hummingbird's server answering each request from `responder`, each
/// answer carrying `Date` (`HTTPDateHeader`) and `Server`.
///
/// This is the request loop of Hummingbird's `Application.run`, composed from the same public parts, without the
/// date cache that `Application` always runs: its once-a-second timer was about half an idle server's CPU, and the
/// header costs nothing between requests when formatted on demand. Errors the responder throws that are not HTTP
/// errors become `500` (logged at debug); a request the parser rejects gets Hummingbird's own bare `400` and its
/// connection is closed. Unlike `Application`, no task-local `Logger.current` is set: CueCast reads the request's
/// logger from its context.
struct HTTPService<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let server: HTTPServerBuilder
    let configuration: HummingbirdCore.ServerConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let onServerRunning: @Sendable (any Channel) async -> Void

    func run() async throws {
        let (responder, logger, date, serverName) = (responder, logger, HTTPDateHeader.shared, configuration.serverName)
        let service = try server.buildServer(
            configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger
        ) { (request, writer: consuming ResponseWriter, channel) in
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let context = Responder.Context(source: .init(channel: channel, logger: requestLogger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                requestLogger.debug("unhandled error answered with 500", metadata: ["error": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = date.value()
            if let serverName { response.headers[.server] = serverName }
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Rethrown, the parser's error would make the channel write a second answer (a 400); any other
                // error just closes the connection.
                throw ParseErrorWhileWriting()
            }
        } onServerRunning: { channel in
            await onServerRunning(channel)
        }
        try await service.run()
    }
}

/// The request's body failed to parse while its answer was being written: the connection is closed.
private struct ParseErrorWhileWriting: Error {}

import HLS
import Media
import NIOCore
import NIOHTTP1
import PlaybackSigning

// Blocking reloads (`ll.m3u8?_HLS_msn=…`, RFC 8216bis §6.2.5.2) held by the handler on the connection's loop.
extension HLSDeliveryHandler {
    /// A blocking reload (`ll.m3u8?_HLS_msn=…`) parked on its stream until its part lands (§6.2.5.2). Held here,
    /// on the connection's loop, the wake-up and the answer cost no task and no hop between threads, which is most
    /// of what answering thousands of them when a part lands used to cost (measured: `BENCHMARKS.md`, held blocking
    /// reloads). One at a time per connection; requests pipelined behind it wait their turn.
    struct Held {
        let id: Int
        var position: HLSResponder.HeldPosition
        let isHead: Bool
        let path: StreamPath
        let conditions: HLSResponder.Conditions
        let viewer: String
        let http10: Bool
    }

    /// What this handler does with a request it takes: answers it now, or holds it.
    enum Decision {
        case answer(HLSReply)
        case hold(Held)
    }

    /// Waits on the held reload's stream; wakes on this loop when the rendition changes or the wait runs out.
    func park(context: ChannelHandlerContext) {
        guard let held else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let id = held.id
        held.position.stream.onLowLatencyChange(after: held.position.version, until: held.position.deadline, on: context.eventLoop) {
            let (handler, context) = loopBound.value
            handler.heldWoke(id: id, context: context)
        }
    }

    /// Answers the held reload once its part is listed (or with 503 once three target durations passed, or the
    /// router's error), in its place among the connection's answers; else waits again.
    private func heldWoke(id: Int, context: ChannelHandlerContext) {
        guard var request = held, request.id == id else { return }  // the connection closed meanwhile
        var reply: HLSReply
        do {
            if let next = try responder.stillHeld(request.position) {
                request.position = next
                held = request
                return park(context: context)
            }
            reply = try responder.reply(
                isHead: request.isHead, path: request.path, file: .lowLatencyPlaylist, conditions: request.conditions, viewer: request.viewer)
        } catch {
            reply = responder.errorReply(error, isHead: request.isHead)
        }
        held = nil
        stamp(&reply, http10: request.http10)
        logger.debug(
            "HLS blocking reload answered",
            metadata: ["path": "\(request.path)", "directives": "\(request.position.directives)", "status": "\(reply.status.code)"])
        if let place = waiting.firstIndex(where: { if case .held = $0 { true } else { false } }) {
            waiting[place] = .answer(reply)
        }
        drain(context: context)
    }

    /// `ll.m3u8` with delivery directives: answered now, or held until its position is listed. Anything the
    /// router would refuse (a malformed or too-far directive, a bad token, no stream) is left to it, so errors read
    /// the same everywhere.
    func blockingReload(_ request: HTTPRequestHead, path: StreamPath, query: Substring) -> Decision? {
        // Percent-encoded or `+` values are the router's to decode.
        guard !query.contains("%"), !query.contains("+") else { return nil }
        let pairs = query.split(separator: "&").map { pair -> (name: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        guard let directives = try? DeliveryDirectives(query: pairs) else { return nil }
        let token = responder.signer != nil ? PlaybackSigner.token(inQuery: query) : nil
        let conditions = HLSResponder.Conditions(
            ifNoneMatch: request.headers.first(name: "if-none-match"), range: request.headers.first(name: "range"),
            skip: directives.skip, token: token)
        let isHead = request.method == .HEAD
        let http10 = request.version == .http1_0
        let viewer = viewer(userAgent: request.headers.first(name: "user-agent"))
        let position: HLSResponder.HeldPosition?
        do {
            _ = try responder.checkToken(token, path: path)
            guard let stream = responder.store.stream(path) else { return nil }
            position = directives.blocks ? try responder.hold(stream, directives) : nil
        } catch {
            return nil
        }
        guard let position else {
            guard var reply = try? responder.reply(isHead: isHead, path: path, file: .lowLatencyPlaylist, conditions: conditions, viewer: viewer)
            else { return nil }
            stamp(&reply, http10: http10)
            return .answer(reply)
        }
        heldCount += 1
        return .hold(
            Held(
                id: heldCount, position: position, isHead: isHead, path: path, conditions: conditions, viewer: viewer, http10: http10))
    }
}

import HLS
import Media
import NIOCore
import NIOHTTP1
import NIOPosix

/// Requests that may be held (draft-pantos-hls-rfc8216bis §6.2.5.2): a blocking reload of `ll.m3u8`, and a part
/// the preload hint named before it exists. They are parked on the stream (`HLSStream.awaitLowLatencyChange`),
/// costing no thread, and answered when the part lands, at most three target durations later (then 503). Most
/// blocking reloads are held by `HLSDeliveryHandler` on their connection's loop instead; these are the rest.
extension HLSResponder {
    /// The answer, after waiting where the request asks to; anything else is answered at once, as `reply`.
    /// - Throws: `APIError` 400 for bad or too-far-ahead directives, 404, 503 when the wait runs out.
    func replyWaiting(
        isHead: Bool, path: StreamPath, file: File, directives: DeliveryDirectives, conditions: Conditions, viewer: String
    ) async throws(APIError) -> HLSReply {
        // A request that will be refused is not held first.
        _ = try checkToken(conditions.token, path: path)
        guard let stream = store.stream(path) else { throw APIError(.notFound, "no HLS stream \(path)") }
        switch file {
        case .lowLatencyPlaylist where directives.blocks:
            try await waitForPosition(stream, directives)
        case .lowLatencyFile(let uri) where stream.lowLatencyFile(uri: uri) == nil:
            try await waitForHintedPart(stream, uri: uri)
        default:
            break
        }
        return try reply(isHead: isHead, path: path, file: file, conditions: conditions, viewer: viewer)
    }

    /// A blocking reload waiting for its position: the stream, the rendition's version it saw, and when it gives up.
    struct HeldPosition: Sendable {
        let stream: HLSStream
        let directives: DeliveryDirectives
        let deadline: NIODeadline
        var version: Int
    }

    /// Looks at a blocking reload as it arrives: nil when it can be answered now, else what to wait for (at most
    /// three target durations, §6.2.5.2).
    /// - Throws: `APIError` 404 (no low-latency rendition, no segment yet), 400 (asks too far ahead).
    func hold(_ stream: HLSStream, _ directives: DeliveryDirectives) throws(APIError) -> HeldPosition? {
        guard let view = stream.lowLatencyView(sequence: directives.sequence, part: directives.part) else {
            throw APIError(.notFound, "stream \(stream.path) makes no low-latency rendition")
        }
        guard view.playlist != nil, let last = view.lastPosition, let partTarget = view.partTarget else {
            throw APIError(.notFound, "stream \(stream.path) has no segment yet")
        }
        let partsPerSegment = max(1, Int((Double(view.targetDuration) / partTarget).rounded(.up)))
        if directives.isTooFarAhead(last: last, partTarget: partTarget, partsPerSegment: partsPerSegment) {
            let asked = "_HLS_msn=\(directives.sequence ?? 0)" + (directives.part.map { " _HLS_part=\($0)" } ?? "")
            let newest = "\(last.sequence)" + (last.part.map { " part \($0)" } ?? "")
            throw APIError(
                .badRequest,
                "\(asked) is too far ahead: the playlist ends at segment \(newest); a request may ask up to two segments or "
                    + "\(DeliveryDirectives.advancePartLimit(partTarget: partTarget)) parts ahead")
        }
        guard !view.contains && view.state != .ended else { return nil }
        return HeldPosition(
            stream: stream, directives: directives, deadline: .now() + .milliseconds(Int64(3 * view.targetDuration * 1000)),
            version: view.version)
    }

    /// Looks again after the rendition changed or the deadline came: nil when the reload can be answered (its
    /// position is listed, or the stream ended or went), else the position with the version to wait past.
    /// - Throws: `APIError` 503 when the deadline passed first.
    func stillHeld(_ held: HeldPosition) throws(APIError) -> HeldPosition? {
        guard let view = held.stream.lowLatencyView(sequence: held.directives.sequence, part: held.directives.part),
            !view.contains, view.state != .ended
        else { return nil }
        guard NIODeadline.now() < held.deadline else {
            throw APIError(.serviceUnavailable, "segment \(held.directives.sequence ?? 0) did not come within three target durations")
        }
        var next = held
        next.version = view.version
        return next
    }

    private func waitForPosition(_ stream: HLSStream, _ directives: DeliveryDirectives) async throws(APIError) {
        guard var held = try hold(stream, directives) else { return }
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        while true {
            await stream.awaitLowLatencyChange(after: held.version, until: held.deadline, on: loop)
            guard let next = try stillHeld(held) else { return }
            held = next
        }
    }

    private func waitForHintedPart(_ stream: HLSStream, uri: String) async throws(APIError) {
        guard let position = PartialSegment.position(uri: uri), uri.hasPrefix("\(stream.epoch)-"), var view = stream.lowLatencyView() else {
            throw APIError(.notFound, "\(uri) is not available")
        }
        // The part the preload hint names, or the first of the next segment (the hint's segment may end first).
        func mayCome(_ view: HLSStream.LowLatencyView) -> Bool {
            guard let next = view.nextPart, view.state != .ended else { return false }
            return position == next || (position.sequence == next.sequence + 1 && position.index == 0)
        }
        let deadline = NIODeadline.now() + .milliseconds(Int64(3 * view.targetDuration * 1000))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        while stream.lowLatencyFile(uri: uri) == nil {
            // A hinted part whose segment ended before it: it will never be (the draft lets a client ignore this).
            guard mayCome(view) else { throw APIError(.notFound, "\(uri) is not available") }
            guard NIODeadline.now() < deadline else { throw APIError(.serviceUnavailable, "\(uri) did not come within three target durations") }
            await stream.awaitLowLatencyChange(after: view.version, until: deadline, on: loop)
            guard let latest = stream.lowLatencyView() else { break }
            view = latest
        }
    }

    /// An error as the router answers it (JSON body, CORS headers), for a request held outside the router.
    func errorReply(_ error: APIError, isHead: Bool) -> HLSReply {
        var headers = HTTPHeaders(error.headers.map { ($0.name.rawName, $0.value) })
        for (name, value) in Self.corsHeaders(origin: corsOrigin) { headers.replaceOrAdd(name: name, value: value) }
        let body = (try? error.body()) ?? ByteBuffer()
        headers.replaceOrAdd(name: "Content-Type", value: APIError.contentType)
        headers.replaceOrAdd(name: "Content-Length", value: "\(body.readableBytes)")
        return HLSReply(status: HTTPResponseStatus(statusCode: error.status.code), headers: headers, body: isHead ? nil : .bytes(body))
    }
}

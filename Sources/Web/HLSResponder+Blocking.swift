import HLS
import Media
import NIOCore
import NIOPosix

/// Requests that may be held (draft-pantos-hls-rfc8216bis §6.2.5.2): a blocking reload of `ll.m3u8`, and a part
/// the preload hint named before it exists. They are parked on the stream (`HLSStream.awaitLowLatencyChange`),
/// costing no thread, and answered when the part lands, at most three target durations later (then 503).
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

    private func waitForPosition(_ stream: HLSStream, _ directives: DeliveryDirectives) async throws(APIError) {
        guard var view = stream.lowLatencyView(sequence: directives.sequence, part: directives.part) else {
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
        let deadline = NIODeadline.now() + .milliseconds(Int64(3 * view.targetDuration * 1000))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        while !view.contains && view.state != .ended {
            guard NIODeadline.now() < deadline else {
                throw APIError(.serviceUnavailable, "segment \(directives.sequence ?? 0) did not come within three target durations")
            }
            await stream.awaitLowLatencyChange(after: view.version, until: deadline, on: loop)
            guard let next = stream.lowLatencyView(sequence: directives.sequence, part: directives.part) else { break }
            view = next
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
}

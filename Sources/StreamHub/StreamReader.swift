/// Anything that takes a stream's events: an output (HLS), or the queue in front of one (`QueuedStreamReader`).
///
/// `receive` is called on the publisher's event loop, in order, and must not block: an output that is quick and
/// must keep up anyway (the HLS remuxer) works right there; anything that writes to a socket queues.
public protocol StreamReader: AnyObject, Sendable {
    func receive(_ event: StreamEvent)
}

import Cueing
import Foundation
import HLS
import Hummingbird
import NIOCore
import Prometheus
import Push
import StreamHub
import Synchronization

/// `GET /metrics` in the Prometheus text format. Each scrape builds a registry from the current state, so a
/// stream's series exist while it is live or its playlist is retained, and disappear after.
struct MetricsRoutes: Sendable {
    let hub: StreamHub
    let hls: HLSStore
    let cues: CueService
    let pushes: PushService
    let status: @Sendable () -> ServerStatus

    func register(on router: Router<CueCastRequestContext>) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: render())))
        }
    }

    func render() -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let server = status()
        registry.gauge("cuecast_build_info", labels: [("version", server.version)], help: "CueCast version").set(Double(1))
        registry.gauge("cuecast_uptime_seconds", help: "Seconds since the server started").set(server.uptimeSeconds)
        registry.gauge("cuecast_rtmp_connections", help: "Open RTMP connections").set(Double(server.rtmpConnections))
        registry.gauge("cuecast_http_connections", help: "Open HTTP connections").set(Double(server.httpConnections))
        registry.gauge("cuecast_live_streams", help: "Streams being published").set(Double(server.liveStreams))
        registry.counter("cuecast_publish_refused_total", help: "Publishes refused since start").increment(by: Int64(server.refusedPublishes))
        registry.counter(
            "cuecast_publish_rate_limited_total", help: "Publishes refused because their client address had failed too often"
        ).increment(by: Int64(server.rateLimitedPublishes))
        if let cpu = server.cpuSeconds {
            registry.gauge("cuecast_process_cpu_seconds", help: "CPU time used by the server").set(cpu)
        }
        if let rss = server.residentBytes {
            registry.gauge("cuecast_process_resident_bytes", help: "Resident memory of the server").set(Double(rss))
        }
        if let heap = server.heapBytes {
            registry.gauge("cuecast_process_heap_bytes", help: "Heap memory in use by the server (allocated, not yet freed)")
                .set(Double(heap))
        }

        for stream in hub.liveStreams {
            let labels = [("app", stream.path.app), ("stream", stream.path.name)]
            let statistics = stream.statistics
            let counters = stream.counters
            for (track, bits) in [("video", statistics.rates.videoBitsPerSecond1s), ("audio", statistics.rates.audioBitsPerSecond1s)] {
                guard let bits else { continue }
                registry.gauge("cuecast_stream_ingest_bits_per_second", labels: labels + [("track", track)],
                    help: "Payload bits per second received over the last second"
                ).set(bits)
            }
            for (track, frames) in [("video", counters.videoFrames), ("audio", counters.audioFrames)] {
                registry.gauge("cuecast_stream_ingest_frames", labels: labels + [("track", track)], help: "Frames received in this publish"
                ).set(Double(frames))
            }
            registry.gauge("cuecast_stream_ingest_bytes", labels: labels, help: "Bytes received in this publish").set(Double(counters.bytes))
            registry.gauge("cuecast_stream_ingest_dropped_messages", labels: labels,
                help: "Messages that did not decode and frames before a usable decoder configuration, dropped in this publish"
            ).set(Double(counters.droppedMessages))
            registry.gauge("cuecast_stream_ingest_timestamp_jumps", labels: labels,
                help: "Encoder timestamp jumps absorbed into one timeline in this publish"
            ).set(Double(counters.timestampJumps))
            if let fps = statistics.rates.frameRate {
                registry.gauge("cuecast_stream_frames_per_second", labels: labels, help: "Measured video frame rate over 10 s").set(fps)
            }
            if let interval = statistics.keyframeIntervalMax {
                registry.gauge("cuecast_stream_keyframe_interval_max_seconds", labels: labels, help: "Longest recent keyframe interval").set(interval)
            }
            for (kind, count) in cues.placedCounts(stream.path).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                registry.counter("cuecast_stream_cues_total", labels: labels + [("kind", kind.rawValue)], help: "Cues placed since the server started"
                ).increment(by: Int64(count))
            }
            if let drift = statistics.avDrift {
                registry.gauge("cuecast_stream_av_drift_seconds", labels: labels, help: "Latest video DTS minus latest audio DTS").set(drift)
            }
        }
        for output in hls.all {
            let labels = [("app", output.path.app), ("stream", output.path.name)]
            registry.gauge("cuecast_stream_viewers", labels: labels, help: "Clients polling the playlist").set(Double(output.viewerCount()))
            if let sequence = output.segments.last?.sequence {
                registry.gauge("cuecast_stream_media_sequence", labels: labels, help: "Newest segment's media sequence number").set(Double(sequence))
            }
            let served = output.delivery.totals
            for (file, requests) in [("playlist", served.playlistRequests), ("segment", served.segmentRequests)] {
                registry.counter("cuecast_stream_http_requests_total", labels: labels + [("file", file)], help: "HLS requests served"
                ).increment(by: Int64(requests))
            }
            registry.counter("cuecast_stream_http_sent_bytes_total", labels: labels, help: "HLS bytes served").increment(by: Int64(served.bytesOut))
            registry.counter("cuecast_stream_timestamp_repairs_total", labels: labels, help: "DTS regressions repaired by the remuxer"
            ).increment(by: Int64(output.timestampRepairs.load(ordering: .relaxed)))
            registry.counter("cuecast_stream_hls_dropped_frames_total", labels: labels,
                help: "Frames the HLS muxer could not take (refused, or no usable headers), dropped without ending the output"
            ).increment(by: Int64(output.droppedFrames.load(ordering: .relaxed)))
            for (quantile, p) in [("0.5", 0.5), ("0.99", 0.99)] {
                guard let value = output.listingDelay(percentile: p) else { continue }
                registry.gauge("cuecast_stream_segment_listing_delay_seconds", labels: labels + [("quantile", quantile)],
                    help: "Closing keyframe received to segment listed"
                ).set(value)
            }
        }
        // Push targets, labelled by stream and target id: never by URL, which holds the key.
        for push in pushes.all() {
            let labels = [("stream", push.stream), ("target", push.id)]
            for state in PushStatus.State.allCases {
                registry.gauge("cuecast_push_state", labels: labels + [("state", state.rawValue)], help: "1 for the push target's current state"
                ).set(Double(push.state == state ? 1 : 0))
            }
            registry.counter("cuecast_push_sent_bytes_total", labels: labels, help: "Bytes sent to the push target").increment(by: Int64(push.bytesSent))
            registry.counter("cuecast_push_reconnects_total", labels: labels, help: "Connection attempts after the first (every retry counts)"
            ).increment(by: Int64(push.reconnects))
            registry.counter("cuecast_push_dropped_frames_total", labels: labels, help: "Frames dropped because the target fell behind"
            ).increment(by: Int64(push.framesDropped))
            if let bits = push.bitsPerSecond {
                registry.gauge("cuecast_push_bits_per_second", labels: labels, help: "Bits sent over the last second").set(bits)
            }
            if let lag = push.lagSeconds {
                registry.gauge("cuecast_push_lag_seconds", labels: labels, help: "Frame arrival at CueCast to its write to the target").set(lag)
            }
        }
        return registry.emitToBuffer()
    }
}

extension PrometheusCollectorRegistry {
    /// A gauge by its full exposed name. swift-prometheus now asks for the name in parts (metric, unit); an
    /// empty unit leaves the name as given.
    fileprivate func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// A counter by its full exposed name; see `gauge(_:labels:help:)`.
    fileprivate func counter(_ name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}

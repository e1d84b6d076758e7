import Cueing
import Foundation
import HLS
import Hummingbird
import NIOCore
import Prometheus
import StreamHub
import Synchronization

/// `GET /metrics` in the Prometheus text format. Each scrape builds a registry from the current state, so a
/// stream's series exist while it is live or its playlist is retained, and disappear after.
struct MetricsRoutes: Sendable {
    let hub: StreamHub
    let hls: HLSStore
    let cues: CueService
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
        registry.makeGauge(name: "cuecast_build_info", labels: [("version", server.version)], help: "CueCast version").set(Double(1))
        registry.makeGauge(name: "cuecast_uptime_seconds", help: "Seconds since the server started").set(server.uptimeSeconds)
        registry.makeGauge(name: "cuecast_rtmp_connections", help: "Open RTMP connections").set(Double(server.rtmpConnections))
        registry.makeGauge(name: "cuecast_http_connections", help: "Open HTTP connections").set(Double(server.httpConnections))
        registry.makeGauge(name: "cuecast_live_streams", help: "Streams being published").set(Double(server.liveStreams))
        if let cpu = server.cpuSeconds {
            registry.makeGauge(name: "cuecast_process_cpu_seconds", help: "CPU time used by the server").set(cpu)
        }
        if let rss = server.residentBytes {
            registry.makeGauge(name: "cuecast_process_resident_bytes", help: "Resident memory of the server").set(Double(rss))
        }

        for stream in hub.liveStreams {
            let labels = [("app", stream.path.app), ("stream", stream.path.name)]
            let statistics = stream.statistics
            let counters = stream.counters
            for (track, bits) in [("video", statistics.rates.videoBitsPerSecond1s), ("audio", statistics.rates.audioBitsPerSecond1s)] {
                guard let bits else { continue }
                registry.makeGauge(
                    name: "cuecast_stream_ingest_bits_per_second", labels: labels + [("track", track)],
                    help: "Payload bits per second received over the last second"
                ).set(bits)
            }
            for (track, frames) in [("video", counters.videoFrames), ("audio", counters.audioFrames)] {
                registry.makeGauge(
                    name: "cuecast_stream_ingest_frames", labels: labels + [("track", track)], help: "Frames received in this publish"
                ).set(Double(frames))
            }
            registry.makeGauge(name: "cuecast_stream_ingest_bytes", labels: labels, help: "Bytes received in this publish").set(Double(counters.bytes))
            if let fps = statistics.rates.frameRate {
                registry.makeGauge(name: "cuecast_stream_frames_per_second", labels: labels, help: "Measured video frame rate over 10 s").set(fps)
            }
            if let interval = statistics.keyframeIntervalMax {
                registry.makeGauge(name: "cuecast_stream_keyframe_interval_max_seconds", labels: labels, help: "Longest recent keyframe interval").set(interval)
            }
            for (kind, count) in cues.placedCounts(stream.path).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                registry.makeCounter(
                    name: "cuecast_stream_cues_total", labels: labels + [("kind", kind.rawValue)], help: "Cues placed since the server started"
                ).increment(by: Int64(count))
            }
            if let drift = statistics.avDrift {
                registry.makeGauge(name: "cuecast_stream_av_drift_seconds", labels: labels, help: "Latest video DTS minus latest audio DTS").set(drift)
            }
        }
        for output in hls.all {
            let labels = [("app", output.path.app), ("stream", output.path.name)]
            registry.makeGauge(name: "cuecast_stream_viewers", labels: labels, help: "Clients polling the playlist").set(Double(output.viewerCount()))
            if let sequence = output.segments.last?.sequence {
                registry.makeGauge(name: "cuecast_stream_media_sequence", labels: labels, help: "Newest segment's media sequence number").set(Double(sequence))
            }
            let served = output.delivery.totals
            for (file, requests) in [("playlist", served.playlistRequests), ("segment", served.segmentRequests)] {
                registry.makeCounter(
                    name: "cuecast_stream_http_requests_total", labels: labels + [("file", file)], help: "HLS requests served"
                ).increment(by: Int64(requests))
            }
            registry.makeCounter(name: "cuecast_stream_http_sent_bytes_total", labels: labels, help: "HLS bytes served").increment(by: Int64(served.bytesOut))
            registry.makeCounter(
                name: "cuecast_stream_timestamp_repairs_total", labels: labels, help: "DTS regressions repaired by the remuxer"
            ).increment(by: Int64(output.timestampRepairs.load(ordering: .relaxed)))
            for (quantile, p) in [("0.5", 0.5), ("0.99", 0.99)] {
                guard let value = output.listingDelay(percentile: p) else { continue }
                registry.makeGauge(
                    name: "cuecast_stream_segment_listing_delay_seconds", labels: labels + [("quantile", quantile)],
                    help: "Closing keyframe received to segment listed"
                ).set(value)
            }
        }
        return registry.emitToBuffer()
    }
}

import Cueing
import HLS
import Hummingbird
import Logging
import Store
import StreamHub

/// Builds the HTTP router: health, the API, and (later) HLS delivery and pages.
public enum WebRouter {
    public static func make(
        hub: StreamHub, keys: StreamKeyStore, sessions: PublishSessionLog, hls: HLSStore, cues: CueService,
        adminToken: String, rtmpPublicURL: String, corsOrigin: String, status: @escaping @Sendable () -> ServerStatus
    ) -> Router<CueCastRequestContext> {
        let router = Router(context: CueCastRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.get("healthz") { _, _ in
            ["status": "ok"]
        }
        HLSRoutes(store: hls, corsOrigin: corsOrigin).register(on: router)
        MetricsRoutes(hub: hub, hls: hls, status: status).register(on: router)
        CueRoutes(service: cues, adminToken: adminToken).register(on: router)
        APIRoutes(hub: hub, keys: keys, sessions: sessions, hls: hls, adminToken: adminToken, status: status)
            .register(on: router, rtmpPublicURL: rtmpPublicURL)
        return router
    }
}

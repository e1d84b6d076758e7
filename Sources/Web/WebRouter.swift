import Cueing
import HLS
import Hummingbird
import Logging
import Push
import Store
import StreamHub

/// Builds the HTTP router: health, HLS delivery, metrics, pages and the API.
public enum WebRouter {
    public static func make(
        hub: StreamHub, keys: StreamKeyStore, sessions: PublishSessionLog, hls: HLSStore, cues: CueService, pushes: PushService,
        adminToken: String, rtmpPublicURL: String, corsOrigin: String, status: @escaping @Sendable () -> ServerStatus,
        hlsRoutes: HLSRoutes? = nil, tokens: APITokenStore? = nil, pages: PageRoutes = PageRoutes()
    ) -> Router<CueCastRequestContext> {
        // HEAD wherever GET is (RFC 9110 §9.3.2): the GET's head, no body.
        let router = Router(context: CueCastRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: StorageErrorMiddleware())
        router.add(middleware: APINotFoundMiddleware())
        router.get("healthz") { _, _ in
            ["status": "ok"]
        }
        // The same routes whose handlers answer in the connection's pipeline, so both paths share one configuration.
        (hlsRoutes ?? HLSRoutes(store: hls, corsOrigin: corsOrigin)).register(on: router)
        MetricsRoutes(hub: hub, hls: hls, cues: cues, pushes: pushes, status: status).register(on: router)
        pages.register(on: router)
        CueRoutes(service: cues, adminToken: adminToken, tokens: tokens).register(on: router)
        APIRoutes(
            hub: hub, keys: keys, sessions: sessions, hls: hls, cues: cues, pushes: pushes, adminToken: adminToken, tokens: tokens, status: status)
            .register(on: router, rtmpPublicURL: rtmpPublicURL)
        return router
    }
}

import Hummingbird
import Logging
import Store
import StreamHub

/// Builds the HTTP router: health, the API, and (later) HLS delivery and pages.
public enum WebRouter {
    public static func make(
        hub: StreamHub, keys: StreamKeyStore, sessions: PublishSessionLog, adminToken: String, rtmpPublicURL: String
    ) -> Router<CueCastRequestContext> {
        let router = Router(context: CueCastRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.get("healthz") { _, _ in
            ["status": "ok"]
        }
        APIRoutes(hub: hub, keys: keys, sessions: sessions, adminToken: adminToken)
            .register(on: router, rtmpPublicURL: rtmpPublicURL)
        return router
    }
}

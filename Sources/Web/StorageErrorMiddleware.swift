import Hummingbird
import Store

/// A request that failed because the database did (busy past its timeout, disk full, read-only) gets 503 with the
/// cause and `Retry-After`, not a bare 500: nothing was written, and the client may try again. The rest of the
/// server (ingest, HLS, viewers) does not need the database and goes on.
struct StorageErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch where StorageFailure.isStorageError(error) {
            context.logger.error("request failed on storage", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(
                .serviceUnavailable, "nothing was changed: \(StorageFailure.describe(error)); retry", headers: [.retryAfter: "5"])
        }
    }
}

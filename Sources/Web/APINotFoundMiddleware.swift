import Hummingbird

/// A request under `/api/` that matches no operation (a stream path without its app, a method the path does not
/// take) gets the API's JSON error naming what was asked for, instead of the router's bare 404 with no body: a
/// client (and `cuecast`, which shows the server's message) can then say what went wrong.
struct APINotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && request.uri.path.hasPrefix("/api/") {
            throw APIError(
                .notFound,
                "no API operation \(request.method) \(request.uri.path) (stream paths are <app>/<name>); the operations are listed in /api/v1/openapi.json")
        }
    }
}

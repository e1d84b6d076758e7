import Media
import RTMP
import Store

/// Decides which stream a publish request is for, from its stream key.
///
/// Two forms are accepted: the OBS form, `rtmp://host/live` with the secret as the stream key, and the URL form,
/// `rtmp://host/live/shop1?key=<secret>`. Refusals never repeat the secret.
public struct PublishAuthorizer: Sendable {
    let keys: StreamKeyStore

    public init(keys: StreamKeyStore) { self.keys = keys }

    public func streamPath(for request: PublishRequest) async -> Result<StreamPath, PublishRefusal> {
        guard StreamPath.isValidComponent(request.app) else {
            return .failure(.badName("invalid application name"))
        }
        do {
            if let secret = request.query["key"] {
                guard let path = StreamPath(app: request.app, name: request.name) else {
                    return .failure(.badName("invalid stream name"))
                }
                guard try await keys.stream(forSecret: secret) == path.description else {
                    return .failure(.badName("unknown or revoked stream key for \(path)"))
                }
                return .success(path)
            }
            guard let stream = try await keys.stream(forSecret: request.name), let path = StreamPath(stream) else {
                return .failure(.badName("unknown or revoked stream key"))
            }
            guard path.app == request.app else {
                return .failure(.badName("stream key does not belong to application \(request.app)"))
            }
            return .success(path)
        } catch {
            return .failure(.denied("key lookup failed"))
        }
    }
}

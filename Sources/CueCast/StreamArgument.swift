import ArgumentParser
import Media

/// A `<app>/<name>` stream argument, checked before anything is opened or sent: a malformed one is a usage error
/// (exit 64, with the command's usage) that names the rule, rather than whatever the store or the server makes of it.
enum StreamArgument {
    static func check(_ stream: String) throws -> StreamPath {
        guard let path = StreamPath(stream) else {
            throw ValidationError("stream must be <app>/<name> using letters, digits, '-', '_' or '.'")
        }
        return path
    }
}

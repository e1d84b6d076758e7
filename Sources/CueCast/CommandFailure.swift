/// A command used correctly that could not be carried out: the server is down, or it said no. ArgumentParser prints
/// `Error: <description>` and exits 1, without the usage text (and exit 64) a `ValidationError` brings.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation

/// The API's bearer token: configured, or generated once and kept in the data directory (mode 0600).
public enum AdminToken {
    public static let fileName = "admin-token"

    /// Returns the token and whether it was created just now.
    public static func load(configured: String?, dataDir: String) throws -> (token: String, created: Bool) {
        if let configured, !configured.isEmpty { return (configured, false) }
        let path = (dataDir as NSString).appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: path),
            let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !token.isEmpty
        {
            return (token, false)
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let token = "at_" + (0..<24).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return (token, true)
    }
}

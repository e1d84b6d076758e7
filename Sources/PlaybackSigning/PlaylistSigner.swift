/// Carries a playback token into a playlist's URIs, so players fetch segments, parts, the init segment and variant
/// playlists with it and need nothing special.
///
/// Rewrites URI lines (RFC 8216 §4.1: lines that are not tags or blank) and the `URI="…"` attribute of tags
/// (`EXT-X-MAP`, `EXT-X-PART`, `EXT-X-PRELOAD-HINT`, `EXT-X-MEDIA`, `EXT-X-RENDITION-REPORT`), adding
/// `token=<token>` with `?` or `&`. Pure: text in, text out.
public enum PlaylistSigner {
    /// A short tag of `token` for a signed playlist's ETag (8 hex digits of FNV-1a), so two tokens never share one.
    public static func tag(of token: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in token.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(hash, radix: 16)
    }

    public static func sign(_ playlist: String, token: String) -> String {
        let parameter = "token=" + token
        var out = ""
        out.reserveCapacity(playlist.utf8.count + 64 * 20)
        for line in playlist.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                // keeps the text's line breaks as they were
            } else if line.hasPrefix("#") {
                out += signAttribute(line, parameter: parameter)
            } else {
                out += line + (line.contains("?") ? "&" : "?") + parameter
            }
            out += "\n"
        }
        out.removeLast()
        return out
    }

    /// Tags whose `URI` attribute names something a player fetches (`EXT-X-DATERANGE` is left alone: its
    /// attributes are the cue's).
    static let tagsWithURIs = ["#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:", "#EXT-X-MEDIA:", "#EXT-X-RENDITION-REPORT:", "#EXT-X-I-FRAME-STREAM-INF:"]

    private static func signAttribute(_ tag: Substring, parameter: String) -> String {
        guard tagsWithURIs.contains(where: { tag.hasPrefix($0) }) else { return String(tag) }
        // The attribute itself, not a longer name ending in URI: it follows the tag's colon or a comma.
        var search = tag.startIndex
        while let start = tag[search...].range(of: "URI=\"") {
            search = start.upperBound
            guard start.lowerBound > tag.startIndex, [":", ","].contains(tag[tag.index(before: start.lowerBound)]) else { continue }
            guard let end = tag[start.upperBound...].firstIndex(of: "\"") else { break }
            let uri = tag[start.upperBound..<end]
            return String(tag[..<end]) + (uri.contains("?") ? "&" : "?") + parameter + String(tag[end...])
        }
        return String(tag)
    }
}

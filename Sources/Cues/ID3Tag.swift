/// Builds ID3v2.4 tags with one `TXXX` frame: the timed metadata hls.js, Video.js, AVPlayer and the AWS IVS
/// player expose to applications.
public enum ID3Tag {
    /// A tag whose TXXX frame has `description` and UTF-8 `text`.
    public static func userText(description: String, text: String) -> [UInt8] {
        // TXXX body: encoding (3 = UTF-8), description, NUL, value.
        var body: [UInt8] = [3]
        body += Array(description.utf8)
        body.append(0)
        body += Array(text.utf8)
        var frame = Array("TXXX".utf8)
        frame += synchsafe(body.count)
        frame += [0, 0]  // frame flags
        frame += body
        var tag = Array("ID3".utf8) + [4, 0, 0]  // version 2.4.0, no flags
        tag += synchsafe(frame.count)
        tag += frame
        return tag
    }

    /// 28-bit size as four 7-bit bytes (ID3v2.4 §6.2).
    static func synchsafe(_ value: Int) -> [UInt8] {
        [UInt8((value >> 21) & 0x7F), UInt8((value >> 14) & 0x7F), UInt8((value >> 7) & 0x7F), UInt8(value & 0x7F)]
    }
}

import NIOCore

/// MPEG-4 AudioSpecificConfig (ISO 14496-3), the AAC sequence header.
public struct AudioSpecificConfig: Sendable, Equatable {
    public var objectType: Int
    public var sampleRate: Int
    public var channelConfiguration: Int

    public enum ParseError: Error, Equatable { case truncated, badSampleRateIndex(Int) }

    static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    public init(_ buffer: ByteBuffer) throws(ParseError) {
        var r = BitReader(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])
        do {
            var type = Int(try r.bits(5))
            if type == 31 { type = 32 + Int(try r.bits(6)) }
            objectType = type
            let index = Int(try r.bits(4))
            if index == 15 {
                sampleRate = Int(try r.bits(24))
            } else {
                guard index < Self.sampleRates.count else { throw ParseError.badSampleRateIndex(index) }
                sampleRate = Self.sampleRates[index]
            }
            channelConfiguration = Int(try r.bits(4))
        } catch let error as ParseError {
            throw error
        } catch {
            throw .truncated
        }
    }

    /// RFC 6381 codec string, e.g. `mp4a.40.2`.
    public var codecString: String { "mp4a.40.\(objectType)" }

    public var audioConfig: AudioConfig {
        // Channel configuration 7 means 7.1 (8 channels); 1…6 are their own count.
        let channels = channelConfiguration == 7 ? 8 : channelConfiguration
        return AudioConfig(codec: .aac, objectType: objectType, sampleRate: sampleRate, channels: channels)
    }
}

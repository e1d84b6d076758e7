import Media
import NIOCore

/// The frames since the last video keyframe (the current GOP, with the audio between), so a reader that joins
/// mid-publish can start decoding at once instead of waiting for the next keyframe.
///
/// Audio-only streams keep the last `audioOnlyFrames` frames. A GOP longer than the limits (an encoder with a
/// 30 s keyframe interval) stops being kept until the next keyframe: a late joiner then waits for it. With
/// `Limits.isEnabled` false nothing is kept and every late joiner waits (SRS's `gop_cache off`).
///
/// Frames are copied one after another into 64 KB blocks rather than each into a buffer of its own: a `ByteBuffer`'s
/// capacity is a power of two, so a buffer per frame kept about 1.4 times the GOP (0.89 MB for a 0.65 MB GOP of a
/// 2.5 Mbit/s stream, measured with heaptrack).
public struct GOPCache: Sendable {
    public struct Limits: Sendable {
        public var maxPackets = 2048
        public var maxBytes = 32 << 20
        public var audioOnlyFrames = 50
        /// False: keep nothing (late joiners wait for the next keyframe; saves about one GOP of memory a stream).
        public var isEnabled = true
        public init() {}
    }

    /// A kept frame: the packet without its payload, and where the payload's copy lies.
    private struct Entry {
        var packet: MediaPacket
        /// Absolute block number (`firstBlock` is the number of `blocks[0]`).
        var block: Int
        var offset: Int
        var length: Int
    }

    /// Bytes of a block; a frame over half of it gets a buffer of its own.
    static let blockSize = 64 << 10
    /// Emptied blocks kept for the next GOP, at most: 2 MB, the GOP of an 8 Mbit/s stream with a 2 s interval.
    static let spareLimit = 32

    public let limits: Limits
    private var entries: [Entry] = []
    /// The payload an entry's packet carries (its bytes are in a block), made once: `ByteBuffer()` goes through a
    /// `swift_once` for its shared empty storage each time, a fifth of this type's CPU per frame in a profile.
    private let emptyPayload = ByteBuffer()
    /// Uniquely owned while frames are written into them; `packets` hands out slices, after which the next write
    /// into that block copies it once (copy-on-write) and the slices keep the old bytes.
    private var blocks: [ByteBuffer] = []
    private var firstBlock = 0
    /// The block small frames are written into, while it has room.
    private var filling: Int?
    private var bytes = 0
    /// Past the limits: nothing is kept until the next keyframe.
    private var overflowed = false
    /// Blocks of the last GOP, for the next one to fill (last one taken first): freeing a GOP at each keyframe and
    /// allocating the next had the kernel fault fresh pages in for every block (glibc gives the top of the heap
    /// back). A block a reader still holds slices of is replaced, not overwritten, when it is taken.
    private var spare: [ByteBuffer] = []

    public init(limits: Limits = .init()) { self.limits = limits }

    /// The kept frames, in order, each payload a slice of the cache's copy.
    public var packets: [MediaPacket] {
        entries.map { entry in
            var packet = entry.packet
            packet.payload = blocks[entry.block - firstBlock].getSlice(at: entry.offset, length: entry.length)!
            return packet
        }
    }

    /// The DTS of the first kept frame (ms).
    public var firstTimestamp: Int64? { entries.first?.packet.dts }

    /// Payload bytes kept.
    var keptBytes: Int { bytes }

    /// Full-size blocks allocated so far (the rest were reused).
    private(set) var blocksAllocated = 0

    /// Bytes the cache holds for them, blocks' unused room included and emptied blocks kept for reuse.
    var allocatedBytes: Int { (blocks + spare).reduce(0) { $0 + $1.capacity } }

    public mutating func add(_ packet: MediaPacket, hasVideo: Bool) {
        guard limits.isEnabled else { return }
        if hasVideo {
            if packet.track == .video && packet.isKeyframe {
                reset()
            } else if entries.isEmpty || overflowed {
                // Frames before the first keyframe cannot start a decoder.
                return
            }
        }
        // A copy of its own: a frame handed on is a slice of the socket read it came in, and kept for a whole GOP
        // such slices would pin every 16 KB read buffer of it (measured: 1.7 MB per stream instead of 0.26).
        let length = packet.payload.readableBytes
        let block: Int
        if length > Self.blockSize / 2 {
            block = append(ByteBufferAllocator().buffer(capacity: length))
        } else if let filling, filling >= firstBlock, blocks[filling - firstBlock].writableBytes >= length {
            block = filling
        } else {
            if var reused = spare.popLast() {
                // Emptied only now that nothing else here holds it: `clear()` allocates anew when the storage is
                // shared, which is also what keeps a reader's slices intact.
                reused.clear()
                block = append(reused)
            } else {
                block = append(ByteBufferAllocator().buffer(capacity: Self.blockSize))
                blocksAllocated += 1
            }
            filling = block
        }
        let offset = blocks[block - firstBlock].writerIndex
        blocks[block - firstBlock].writeImmutableBuffer(packet.payload)
        var kept = packet
        kept.payload = emptyPayload
        entries.append(Entry(packet: kept, block: block, offset: offset, length: length))
        bytes += length
        if !hasVideo && entries.count > limits.audioOnlyFrames {
            bytes -= entries.removeFirst().length
            // Blocks before the oldest one still referenced are let go (audio only: a few per 50 frames).
            let oldest = entries.map(\.block).min() ?? firstBlock + blocks.count
            if oldest > firstBlock {
                recycle(blocks[..<(oldest - firstBlock)])
                blocks.removeFirst(oldest - firstBlock)
                firstBlock = oldest
            }
        }
        if entries.count > limits.maxPackets || bytes > limits.maxBytes {
            reset()
            overflowed = true
        }
    }

    public mutating func reset() {
        recycle(blocks[...])
        entries = []
        blocks = []
        firstBlock = 0
        filling = nil
        bytes = 0
        overflowed = false
    }

    /// Keeps released full-size blocks for reuse, up to `spareLimit`, to be taken in the order they were filled.
    private mutating func recycle(_ released: ArraySlice<ByteBuffer>) {
        for block in released.reversed() where block.capacity == Self.blockSize && spare.count < Self.spareLimit {
            spare.append(block)
        }
    }

    /// Adds a block; returns its number.
    private mutating func append(_ block: ByteBuffer) -> Int {
        blocks.append(block)
        return firstBlock + blocks.count - 1
    }
}

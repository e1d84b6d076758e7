// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "CueCast",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cuecast", targets: ["CueCast"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.36.0"),
    ],
    targets: [
        // FFmpeg's C libraries, found through pkg-config. Only the FFmpeg target imports this.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev"])]
        ),
        .target(name: "FFmpeg", dependencies: ["CFFmpeg", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "Media", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // Once-a-second work of an event loop, on whole seconds so it shares one wake-up.
        .target(name: "LoopTicks", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // FLV tags and AMF0, both ways: RTMP ingest, RTMP play, HTTP-FLV and pushes share them.
        .target(name: "FLV", dependencies: ["Media", .product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "RTMP",
            dependencies: [
                "Media", "FLV", "LoopTicks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "StreamHub",
            dependencies: [
                "Media", "Cues", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(name: "Cues"),
        // Signed playback URLs and the playlists that carry them.
        .target(name: "PlaybackSigning", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The operator's publish/play hook: signed JSON over HTTP, fail closed.
        .target(
            name: "Hooks",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Cueing",
            dependencies: [
                "Cues", "Store", "StreamHub", "Media", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // memfd_create(2), which Swift's Glibc module does not declare. Only the HLS target imports this.
        .target(name: "CMemFD"),
        // mallinfo2(3), which Swift's Glibc module does not declare: the in-use heap for the server's figures.
        .target(name: "CMallocInfo"),
        .target(
            name: "HLS",
            dependencies: [
                "Media", "Cues", "CMemFD", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Remux",
            dependencies: [
                "FFmpeg", "HLS", "StreamHub", "Media", "Cues", "LoopTicks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: [
                "Cues",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Ingest",
            dependencies: [
                "RTMP", "FLV", "Hooks", "PlaybackSigning", "StreamHub", "Store", "Media", "Cues",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Push",
            dependencies: [
                "RTMP", "FLV", "StreamHub", "Store", "Media", "LoopTicks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Web",
            dependencies: [
                "StreamHub", "Store", "Media", "HLS", "Cues", "Cueing", "FLV", "Push", "Hooks", "PlaybackSigning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("Pages/console.html"), .embedInCode("Pages/console.js"), .embedInCode("Pages/watch.html"),
                .embedInCode("Pages/watch.js"), .embedInCode("Pages/cuecast.css"), .embedInCode("Pages/openapi.json"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Ingest", "Hooks", "PlaybackSigning", "Web", "StreamHub", "Store", "Remux", "HLS", "Cueing", "Cues", "Media", "Push",
                "LoopTicks",
                "CMallocInfo",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "CueCast",
            dependencies: [
                "Server", "Store", "Media", "PlaybackSigning", "Push",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The client-facing parsers as libFuzzer targets (`scripts/fuzz`); without FUZZING, a replayer of inputs.
        .executableTarget(
            name: "CueCastFuzz",
            dependencies: ["RTMP", "FLV", "Media", "Cues", "HLS", "PlaybackSigning", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "TestSupport"),
        .testTarget(
            name: "RTMPTests",
            dependencies: [
                "RTMP", "FLV", "Media", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"]),
        .testTarget(
            name: "LoopTicksTests",
            dependencies: [
                "LoopTicks", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "PushTests", dependencies: ["Push", "RTMP", "FLV", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "FLVTests", dependencies: ["FLV", "Media", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "StreamHubTests",
            dependencies: [
                "StreamHub", "Media", "Cues", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .testTarget(name: "CuesTests", dependencies: ["Cues", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "HooksTests", dependencies: ["Hooks"]),
        .testTarget(name: "PlaybackSigningTests", dependencies: ["PlaybackSigning"]),
        .testTarget(
            name: "HLSTests",
            dependencies: [
                "HLS", "Media", "Remux", "StreamHub", "Store", "Cues", "FFmpeg", "TestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "RTMP", "Store", "StreamHub", "Media"]),
        .testTarget(name: "FFmpegTests", dependencies: ["FFmpeg", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Server", "Web", "Store", "StreamHub", "RTMP", "FLV", "Media", "TestSupport", "FFmpeg", "Hooks", "PlaybackSigning",
                "Push", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ]
)

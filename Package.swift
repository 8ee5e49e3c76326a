// swift-tools-version:6.1
import PackageDescription

/// Runnel: a Flink-class stream processor in Swift on libuv event loops.
///
/// Layout (see docs/ARCHITECTURE.md):
/// - `CLibUV`, `CJemalloc`, `CXXHash`, `CSimdjson`: thin C/C++ shim targets over Debian libraries;
///   `CPrefetch`: a cache prefetch hint (header only).
/// - `RunnelCore`: Swift (C only for the prefetch hint): time, watermarks, state, windows, operators, the job graph.
/// - `RunnelRuntime`: the only importer of libuv: loops, tasks, exchanges, timers.
/// - `RunnelJSON`: Swift face of simdjson (the only importer of `CSimdjson`).
/// - `RunnelCheckpoint`: checkpoint files and directories (checksummed with xxHash, the only
///   importer of `CXXHash`).
/// - `RunnelOperators` (`Operators/`): built-in operators and connectors, on the core only.
/// - `RunnelTesting`: an embedded runtime with a manual clock for operator tests.

// `-disable-type-layout`: with type-layout lowering (the default in optimized builds), Swift
// 6.3 copies and destroys values such as `String?` or an event struct held in memory
// through an outlined helper that instantiates the type's metadata and calls its runtime
// value witness (~120 instructions), in the exchanges' per-record paths too. The classic
// lowering, which debug builds (and so the tests) use anyway, copies field by field: 4 %
// fewer instructions on the creator replay (1.40 G to 1.34 G on 100 k events, callgrind;
// docs/PERFORMANCE.md). A hidden frontend flag, so only for the toolchains measured.
#if compiler(>=6.1) && compiler(<6.4)
let valueLoweringFlags = ["-Xfrontend", "-disable-type-layout"]
#else
let valueLoweringFlags: [String] = []
#endif

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // The engine is generic (operators over user types); without cross-module optimization a
    // release build runs the core's generic code unspecialized, through runtime metadata.
    // Exclusivity is checked in debug builds (and so by the tests); release builds skip the
    // per-access runtime check on the hot path.
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"] + valueLoweringFlags, .when(configuration: .release)),
]

let package = Package(
    name: "Runnel",
    products: [
        .library(name: "RunnelCore", targets: ["RunnelCore"]),
        .library(name: "RunnelRuntime", targets: ["RunnelRuntime"]),
        .library(name: "RunnelCheckpoint", targets: ["RunnelCheckpoint"]),
        .library(name: "RunnelOperators", targets: ["RunnelOperators"]),
        .library(name: "RunnelTesting", targets: ["RunnelTesting"]),
        .library(name: "RunnelLog", targets: ["RunnelLog"]),
        .library(name: "RunnelCrypto", targets: ["RunnelCrypto"]),
        .library(name: "RunnelHTTP", targets: ["RunnelHTTP"]),
        .library(name: "RunnelHTTPServer", targets: ["RunnelHTTPServer"]),
        .library(name: "RunnelWebSocket", targets: ["RunnelWebSocket"]),
        .library(name: "RunnelWebSocketServer", targets: ["RunnelWebSocketServer"]),
        .library(name: "RunnelAuth", targets: ["RunnelAuth"]),
        .library(name: "RunnelFeed", targets: ["RunnelFeed"]),
        .library(name: "RunnelPrometheus", targets: ["RunnelPrometheus"]),
        .executable(name: "creator-analytics", targets: ["creator-analytics"]),
        .executable(name: "runnel-bench", targets: ["RunnelBench"]),
        .executable(name: "runnel-nexmark", targets: ["runnel-nexmark"]),
        .executable(name: "creator-replay-floor", targets: ["creator-replay-floor"]),
        .executable(name: "websocket-echo", targets: ["websocket-echo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: C shims
        .systemLibrary(
            name: "CLibUV",
            path: "Sources/CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        .systemLibrary(
            name: "CJemalloc",
            path: "Sources/CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        .systemLibrary(
            name: "CXXHash",
            path: "Sources/CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            path: "Sources/CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Header only (an inline function over `__builtin_prefetch`); no library to link.
        .systemLibrary(
            name: "CPrefetch",
            path: "Sources/CPrefetch"
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CHTTPParser",
            path: "Sources/CHTTPParser",
            providers: [.apt(["libhttp-parser-dev"])]
        ),
        .target(
            name: "CSimdjson",
            path: "Sources/CSimdjson",
            cxxSettings: [.unsafeFlags(["-O3"])],
            linkerSettings: [.linkedLibrary("simdjson")]
        ),

        // MARK: Swift modules
        .target(name: "RunnelCrypto", dependencies: ["CCrypto"], swiftSettings: strict),
        .target(name: "RunnelWebSocket", dependencies: ["RunnelCrypto", "CZlib"], swiftSettings: strict),
        .target(name: "RunnelHTTP", dependencies: ["CHTTPParser", "CZlib"], swiftSettings: strict),
        .target(name: "RunnelAuth", dependencies: ["RunnelCrypto", "RunnelJSON"], swiftSettings: strict),
        .target(name: "RunnelHTTPServer", dependencies: ["RunnelHTTP", "RunnelRuntime"], swiftSettings: strict),
        .target(
            name: "RunnelPrometheus",
            dependencies: ["RunnelCore", .product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelFeed",
            dependencies: [
                "RunnelWebSocketServer", "RunnelWebSocket", "RunnelHTTPServer", "RunnelHTTP", "RunnelRuntime", "RunnelAuth",
                "RunnelCore", "RunnelJSON", .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelWebSocketServer",
            dependencies: ["RunnelWebSocket", "RunnelHTTPServer", "RunnelHTTP", "RunnelRuntime"],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelCore",
            dependencies: [
                "CPrefetch",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelJSON",
            dependencies: ["CSimdjson"],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelRuntime",
            dependencies: ["RunnelCore", "RunnelCheckpoint", "CLibUV", "CJemalloc"],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelCheckpoint",
            dependencies: ["RunnelCore", "RunnelJSON", "CXXHash"],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelOperators",
            dependencies: [
                "RunnelCore", "RunnelJSON", .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Operators",
            swiftSettings: strict
        ),
        .target(
            name: "RunnelLog",
            dependencies: ["RunnelCore", "RunnelJSON", "RunnelOperators", "RunnelCheckpoint"],
            swiftSettings: strict
        ),
        .target(
            name: "RunnelTesting",
            dependencies: ["RunnelCore", "RunnelRuntime", "RunnelWebSocket"],
            swiftSettings: strict
        ),

        // MARK: Flagship application
        .target(
            name: "CreatorAnalyticsKit",
            dependencies: [
                "RunnelCore", "RunnelRuntime", "RunnelOperators", "RunnelJSON", "RunnelCheckpoint", "RunnelFeed", "RunnelHTTPServer",
                "RunnelHTTP", "RunnelAuth", "RunnelPrometheus", "RunnelLog",
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Examples/CreatorAnalytics/CreatorAnalyticsKit",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "creator-analytics",
            dependencies: [
                "CreatorAnalyticsKit", "RunnelOperators", "RunnelCheckpoint", "RunnelRuntime", "RunnelJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/CreatorAnalytics/creator-analytics",
            swiftSettings: strict,
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),

        // MARK: Benchmarks
        .target(
            name: "RunnelNexmark",
            dependencies: ["RunnelCore", "RunnelOperators", "RunnelJSON"],
            path: "Benchmarks/Nexmark/RunnelNexmark",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "runnel-nexmark",
            dependencies: [
                "RunnelNexmark", "RunnelCore", "RunnelRuntime", "RunnelOperators", "RunnelCheckpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Nexmark/runnel-nexmark",
            swiftSettings: strict,
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),
        // A yardstick, not part of Runnel: the creator replay written by hand in C++ for this
        // one job (Benchmarks/ReplayFloor/main.cpp; docs/PERFORMANCE.md, "A floor for the replay").
        .executableTarget(
            name: "creator-replay-floor",
            dependencies: ["CSimdjson"],
            path: "Benchmarks/ReplayFloor",
            cxxSettings: [.unsafeFlags(["-O3"])],
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),
        .executableTarget(
            name: "websocket-echo",
            dependencies: ["RunnelRuntime", "RunnelHTTPServer", "RunnelHTTP", "RunnelWebSocket", "RunnelWebSocketServer"],
            path: "Examples/WebSocketEcho",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "RunnelBench",
            dependencies: [
                "CreatorAnalyticsKit", "RunnelOperators", "RunnelCheckpoint", "RunnelRuntime", "RunnelFeed", "RunnelHTTPServer",
                "RunnelWebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/RunnelBench",
            swiftSettings: strict,
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),

        // MARK: Tests
        .testTarget(
            name: "RunnelWebSocketTests",
            dependencies: ["RunnelWebSocket", "RunnelCrypto"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelAuthTests",
            dependencies: ["RunnelAuth", "RunnelCrypto"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelHTTPServerTests",
            dependencies: ["RunnelHTTPServer", "RunnelHTTP", "RunnelRuntime", "RunnelTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelWebSocketServerTests",
            dependencies: ["RunnelWebSocketServer", "RunnelWebSocket", "RunnelHTTPServer", "RunnelHTTP", "RunnelRuntime", "RunnelTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelPrometheusTests",
            dependencies: ["RunnelPrometheus", "RunnelCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelFeedTests",
            dependencies: [
                "RunnelFeed", "RunnelAuth", "RunnelWebSocket", "RunnelWebSocketServer", "RunnelHTTPServer", "RunnelHTTP",
                "RunnelRuntime", "RunnelTesting",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelHTTPTests",
            dependencies: ["RunnelHTTP", "RunnelTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelCoreTests",
            dependencies: [
                "RunnelCore", "RunnelTesting", "RunnelOperators",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelCheckpointTests",
            dependencies: ["RunnelCheckpoint", "RunnelCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelNexmarkTests",
            dependencies: ["RunnelNexmark", "RunnelCore", "RunnelOperators", "RunnelTesting", "RunnelRuntime"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelLogTests",
            dependencies: ["RunnelLog", "RunnelCore", "RunnelRuntime", "RunnelOperators", "RunnelJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelJSONTests",
            dependencies: ["RunnelJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelRuntimeTests",
            dependencies: ["RunnelRuntime", "RunnelCore", "RunnelOperators", "RunnelTesting", "RunnelCheckpoint", "RunnelJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnelOperatorsTests",
            dependencies: ["RunnelOperators", "RunnelCore", "RunnelJSON", "RunnelTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CreatorAnalyticsTests",
            dependencies: [
                "CreatorAnalyticsKit", "RunnelRuntime", "RunnelCore", "RunnelCheckpoint", "RunnelOperators", "RunnelAuth",
                "RunnelTesting", "RunnelWebSocket", "RunnelJSON",
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)

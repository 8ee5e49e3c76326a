#!/usr/bin/env bash
# Builds the given products (default: creator-analytics) as the benchmarks measure them: in
# release mode with full link-time optimization, into a build directory of their own
# (.build-lto), and prints that directory's binary path (build output goes to stderr).
#
# Why LTO: the optimizer then sees the whole program across modules, not only what
# cross-module optimization exposes. On the creator replay it retired 6.2 % fewer
# instructions (callgrind, 100 k events, p = 1: 937 M against 879 M) and took 0.959–0.976
# times the CPU (medians of 8–20 alternating pairs of 5 M-event runs, p = 1 and p = 2; see
# docs/PERFORMANCE.md, "Link-time optimization"). Why a directory of its own: SwiftPM keeps
# one set of objects per build directory, so switching LTO on and off in .build would
# rebuild everything each time.
#
# Usage: bin=$(bash scripts/release-build.sh creator-analytics runnel-nexmark)
set -euo pipefail
cd "$(dirname "$0")/.."
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(creator-analytics)
args=(-c release --experimental-lto-mode=full --scratch-path .build-lto)
for product in "${products[@]}"; do
    swift build "${args[@]}" --product "$product" >&2
done
swift build "${args[@]}" --show-bin-path

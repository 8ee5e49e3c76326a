#!/usr/bin/env bash
# Installs dependencies, builds everything (library, example, benchmarks; the programs the
# Flink comparisons run also in release mode with link-time optimization), runs each
# benchmark on a tiny input so that they cannot rot (the Flink comparisons install PyFlink
# from PyPI into ~/.cache/runnel-bench first), then runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift run --skip-build runnel-bench --smoke
swift run --skip-build runnel-nexmark --smoke
bash Benchmarks/ExtractorAB/run.sh --smoke
# The Flink comparisons run the build the benchmarks measure (release, link-time optimized).
# (Assigned on a line of its own: a failed build then stops the script.)
release_bin=$(bash scripts/release-build.sh creator-analytics creator-replay-floor runnel-nexmark)
RUNNEL_BIN=$release_bin bash Benchmarks/flink/smoke.sh
swift test --skip-build

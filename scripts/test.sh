#!/usr/bin/env bash
# Installs dependencies, builds everything (library, example, benchmarks) and runs the test
# suite; then runs each benchmark on a tiny input so that they cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift run --skip-build runnel-bench --smoke
swift run --skip-build runnel-nexmark --smoke
swift test --skip-build

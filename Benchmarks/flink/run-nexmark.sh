#!/usr/bin/env bash
# Nexmark on Runnel against Flink SQL (see nexmark_compare.py): prepares the same virtual
# environment as run.sh, builds runnel-nexmark in release mode and runs the comparison.
# Arguments go to nexmark_compare.py (e.g. --queries q5,q11 --events 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
java -version 2>&1 | head -1
swift build -c release --product runnel-nexmark
exec "$venv/bin/python" Benchmarks/flink/nexmark_compare.py "$@"

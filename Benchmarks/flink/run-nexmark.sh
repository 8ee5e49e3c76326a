#!/usr/bin/env bash
# Nexmark on Runnel against Flink SQL (see nexmark_compare.py): prepares the same virtual
# environment as run.sh, builds runnel-nexmark in release mode with link-time optimization
# (scripts/release-build.sh) and runs the comparison.
# Arguments go to nexmark_compare.py (e.g. --queries q5,q11 --events 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
java -version 2>&1 | head -1
RUNNEL_BIN=$(bash scripts/release-build.sh runnel-nexmark)
export RUNNEL_BIN
exec "$venv/bin/python" Benchmarks/flink/nexmark_compare.py "$@"

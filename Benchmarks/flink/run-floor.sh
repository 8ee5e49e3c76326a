#!/usr/bin/env bash
# Runnel against the hand-written floor of the creator replay (see floor_compare.py): builds
# both in release mode with link-time optimization (scripts/release-build.sh) and runs the
# comparison in the benchmarks' virtual environment (for psutil). Arguments go to
# floor_compare.py (e.g. --sizes 5000000 --runs 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
RUNNEL_BIN=$(bash scripts/release-build.sh creator-analytics creator-replay-floor)
export RUNNEL_BIN
exec "$venv/bin/python" Benchmarks/flink/floor_compare.py "$@"

#!/usr/bin/env bash
# Runnel against the hand-written floor of the creator replay (see floor_compare.py): builds
# both in release mode and runs the comparison in the benchmarks' virtual environment (for
# psutil). Arguments go to floor_compare.py (e.g. --sizes 5000000 --runs 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
swift build -c release --product creator-analytics
swift build -c release --product creator-replay-floor
exec "$venv/bin/python" Benchmarks/flink/floor_compare.py "$@"

#!/usr/bin/env bash
# CI's check that the Flink comparisons still work, on tiny inputs: installs PyFlink into the
# virtual environment if needed (about 40 s), then runs both comparisons and the comparison
# with the hand-written floor, failing if any program fails or their results differ. Not a
# measurement. It runs the binaries in $RUNNEL_BIN when set (scripts/test.sh passes the
# link-time optimized release build that the benchmarks measure), else the debug build
# already made.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUNNEL_BIN="${RUNNEL_BIN:-$PWD/.build/debug}"
"$venv/bin/python" Benchmarks/flink/compare.py --sizes 2000 --runs 1 --flink-configs default,nexmark --with-floor --work "$work/replay" --results "$work/results"
"$venv/bin/python" Benchmarks/flink/nexmark_compare.py --check-events 5000 --events 5000 --runs 1 --work "$work/nexmark" --results "$work/results"
"$venv/bin/python" Benchmarks/flink/floor_compare.py --sizes 2000 --runs 1 --work "$work/floor" --results "$work/results"
"$venv/bin/python" Benchmarks/flink/floor_compare.py --edge-cases --runs 1 --work "$work/floor-edge" --results "$work/results"

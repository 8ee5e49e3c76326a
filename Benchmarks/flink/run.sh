#!/usr/bin/env bash
# Runnel vs Apache Flink on the creator replay workload (see compare.py). Installs Flink
# from PyPI (apache-flink, which bundles the Flink runtime; Java 17 is needed) with psutil
# and matplotlib into a virtual environment outside the repository, builds Runnel (and the
# hand-written floor, for --with-floor) in release mode with link-time optimization
# (scripts/release-build.sh), and runs the comparison. Arguments go to compare.py (e.g.
# --sizes 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/flink/venv.sh
java -version 2>&1 | head -1
RUNNEL_BIN=$(bash scripts/release-build.sh creator-analytics creator-replay-floor)
export RUNNEL_BIN
exec "$venv/bin/python" Benchmarks/flink/compare.py "$@"

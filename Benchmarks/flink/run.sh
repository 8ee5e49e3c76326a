#!/usr/bin/env bash
# Runnel vs Apache Flink on the creator replay workload (see compare.py). Installs Flink
# from PyPI (apache-flink, which bundles the Flink runtime; Java 17 is needed) with psutil
# and matplotlib into a virtual environment outside the repository, builds Runnel in
# release mode, and runs the comparison. Arguments go to compare.py (e.g. --sizes 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${RUNNEL_FLINK_VENV:-$HOME/.cache/runnel-bench/flink-venv}"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import pyflink, psutil, matplotlib" 2>/dev/null; then
    python3 -m venv "$venv"
    # matplotlib below 3.8 keeps numpy below 1.25, which apache-beam (a PyFlink dependency) needs.
    "$venv/bin/pip" install -q "apache-flink==1.20.3" psutil "numpy<1.25" "matplotlib<3.8"
fi
java -version 2>&1 | head -1
swift build -c release --product creator-analytics
exec "$venv/bin/python" Benchmarks/flink/compare.py "$@"

#!/usr/bin/env bash
# Nexmark on Runnel against Flink SQL (see nexmark_compare.py): prepares the same virtual
# environment as run.sh, builds runnel-nexmark in release mode and runs the comparison.
# Arguments go to nexmark_compare.py (e.g. --queries q5,q11 --events 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${RUNNEL_FLINK_VENV:-$HOME/.cache/runnel-bench/flink-venv}"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import pyflink, psutil" 2>/dev/null; then
    python3 -m venv "$venv"
    # matplotlib below 3.8 keeps numpy below 1.25, which apache-beam (a PyFlink dependency) needs.
    "$venv/bin/pip" install -q "apache-flink==1.20.3" psutil "numpy<1.25" "matplotlib<3.8"
fi
java -version 2>&1 | head -1
swift build -c release --product runnel-nexmark
exec "$venv/bin/python" Benchmarks/flink/nexmark_compare.py "$@"

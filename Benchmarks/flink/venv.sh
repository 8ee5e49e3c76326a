# Sourced by the scripts here: sets `venv` to the virtual environment with PyFlink, psutil
# and matplotlib (outside the repository), creating it if needed (about 40 s from PyPI).
venv="${RUNNEL_FLINK_VENV:-$HOME/.cache/runnel-bench/flink-venv}"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import pyflink, psutil, matplotlib" 2>/dev/null; then
    python3 -m venv "$venv"
    # matplotlib below 3.8 keeps numpy below 1.25, which apache-beam (a PyFlink dependency) needs.
    "$venv/bin/pip" install -q "apache-flink==1.20.3" psutil "numpy<1.25" "matplotlib<3.8"
fi

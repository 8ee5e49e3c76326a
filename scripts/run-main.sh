#!/usr/bin/env bash
# Installs dependencies, builds Runnel in release mode and starts the flagship service,
# `creator-analytics serve --demo`: the event collector, the live feed and the dashboard on
# http://127.0.0.1:8080/, fed with generated platform traffic so the dashboard is alive at
# once. Ctrl-C stops it. Extra arguments go to `serve` (e.g. --port 9090, --demo-rate 2000).
# The batch job over a file is `creator-analytics replay` (README, "The flagship job").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product creator-analytics
bin=$(swift build -c release --show-bin-path)/creator-analytics
echo "the live dashboard is at the address serve prints below (http://127.0.0.1:8080/ by default); Ctrl-C stops the service"
exec "$bin" serve --demo "$@"

#!/usr/bin/env bash
# Installs the Debian libraries Runnel builds against (idempotent; needs root or sudo).
set -euo pipefail
# Java 17 runs Apache Flink in the side-by-side benchmark (Benchmarks/flink; CI smoke-runs it).
packages=(libuv1-dev libjemalloc-dev libsimdjson-dev libxxhash-dev libssl-dev libhttp-parser-dev zlib1g-dev pkg-config chromium openjdk-17-jre-headless)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -q
    run apt-get install -y -q "${missing[@]}"
fi
# Python's websockets library: the independent client of the WebSocket feed's tests.
if ! python3 -c "import websockets" 2>/dev/null; then
    python3 -m pip install -q "websockets==12.0" 2>/dev/null \
        || python3 -m pip install -q --user --break-system-packages "websockets==12.0" \
        || echo "warning: could not install Python's websockets; the WebSocket client tests will fail" >&2
fi

#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client (wstest -m fuzzingclient) against Runnel's
# WebSocket echo server (product `websocket-echo`, Examples/WebSocketEcho) and prints a
# per-category summary of the results.
#
# Steps:
#   1. finds a Python 2.7 (the testsuite runs on Python 2 only): a pyenv 2.7.x under
#      $PYENV_ROOT/versions (default ~/.pyenv), or a working `python2` on PATH;
#   2. installs `autobahntestsuite` from PyPI with `pip install --user` into
#      $AUTOBAHN_PYTHONUSERBASE (default ~/.cache/runnel-autobahn) unless wstest is there;
#   3. builds websocket-echo in release mode and starts it on a free port;
#   4. writes a fuzzingclient spec to a temporary directory and runs all cases;
#   5. stops the server, prints OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED / FAILED
#      per top-level case category and exits non-zero if any case FAILED.
#
# Expected (2026-11-26): every case OK except 7.1.6, 7.13.1 and 7.13.2, INFORMATIONAL by
# design (a message echoed before a close; close codes 5000/65535 answered with 1002).
# Categories 12 and 13 (permessage-deflate) take most of the time (~7.5 of ~8 minutes on
# 2 cores; AUTOBAHN_EXCLUDE_CASES='12.*,13.*' skips them). Only FAILED fails the script.
#
# Environment:
#   AUTOBAHN_PYTHONUSERBASE  where the testsuite is installed (default ~/.cache/runnel-autobahn)
#   SCRATCH_PATH             swift build --scratch-path (default: the package's .build)
#   REPORT_DIR               where wstest writes its reports (default <scratch>/autobahn-reports)
#   AUTOBAHN_CASES           comma-separated case patterns (default "*", i.e. all)
#   AUTOBAHN_EXCLUDE_CASES   comma-separated case patterns to skip (default none)
#   PYTHON2                  a Python 2.7 interpreter to use instead of searching for one
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
USERBASE="${AUTOBAHN_PYTHONUSERBASE:-$HOME/.cache/runnel-autobahn}"
CASES="${AUTOBAHN_CASES:-*}"
EXCLUDE_CASES="${AUTOBAHN_EXCLUDE_CASES:-}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'autobahn.sh: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (for the spec and the summary)"
command -v swift >/dev/null || die "swift is needed to build websocket-echo"

# --- 1. A Python 2.7 -------------------------------------------------------------------
is_py27() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' >/dev/null 2>&1; }
PY2="${PYTHON2:-}"
if [[ -n "$PY2" ]]; then
    is_py27 "$PY2" || die "PYTHON2=$PY2 is not a working Python 2.7"
else
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python /root/.pyenv/versions/2.7*/bin/python; do
        if [[ -x "$candidate" ]] && is_py27 "$candidate"; then PY2="$candidate"; break; fi
    done
    if [[ -z "$PY2" ]]; then
        for candidate in python2.7 python2; do
            if command -v "$candidate" >/dev/null && is_py27 "$candidate"; then PY2="$(command -v "$candidate")"; break; fi
        done
    fi
    [[ -n "$PY2" ]] || die "no Python 2.7 found: Autobahn|Testsuite needs Python 2.7. Install one (e.g. 'pyenv install 2.7.18') or set PYTHON2=/path/to/python2.7"
fi
log "Python 2.7: $PY2"

# --- 2. The testsuite ------------------------------------------------------------------
export PYTHONUSERBASE="$USERBASE"
WSTEST="$USERBASE/bin/wstest"
if [[ ! -x "$WSTEST" ]] || ! "$PY2" "$WSTEST" --help >/dev/null 2>&1; then
    log "installing autobahntestsuite into $USERBASE"
    mkdir -p "$USERBASE"
    if ! "$PY2" -m pip --version >/dev/null 2>&1; then
        "$PY2" -m ensurepip --user >/dev/null || die "pip is missing for $PY2 and ensurepip failed"
    fi
    "$PY2" -m pip install --user --disable-pip-version-check autobahntestsuite \
        || die "pip install autobahntestsuite failed (PYTHONUSERBASE=$USERBASE)"
    [[ -x "$WSTEST" ]] || die "wstest not found at $WSTEST after installing"
fi

# --- 3. Build and start the echo server -------------------------------------------------
BUILD_ARGS=(-c release --product websocket-echo)
if [[ -n "${SCRATCH_PATH:-}" ]]; then BUILD_ARGS+=(--scratch-path "$SCRATCH_PATH"); fi
log "swift build ${BUILD_ARGS[*]}"
(cd "$ROOT" && swift build "${BUILD_ARGS[@]}")
BIN_DIR="$(cd "$ROOT" && swift build "${BUILD_ARGS[@]}" --show-bin-path)"
SERVER="$BIN_DIR/websocket-echo"
[[ -x "$SERVER" ]] || die "built binary not found at $SERVER"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/runnel-autobahn.XXXXXX")"
REPORT_DIR="${REPORT_DIR:-${SCRATCH_PATH:-$ROOT/.build}/autobahn-reports}"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the server binds a free port and prints it.
"$SERVER" --port 0 2>"$WORK/server.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT="$(sed -n '/ws:\/\/127\.0\.0\.1:[0-9]/{s|.*ws://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p;q;}' "$WORK/server.log")"
    [[ -n "$PORT" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "websocket-echo exited at start"; }
    sleep 0.1
done
[[ -n "$PORT" ]] || { cat "$WORK/server.log" >&2; die "websocket-echo did not report its port"; }
log "websocket-echo (pid $SERVER_PID) on ws://127.0.0.1:$PORT"

# --- 4. Spec and fuzzing client ---------------------------------------------------------
rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
python3 - "$WORK/spec.json" "$REPORT_DIR" "$PORT" "$CASES" "$EXCLUDE_CASES" <<'EOF'
import json, sys
path, outdir, port, cases, exclude = sys.argv[1:]
split = lambda s: [c.strip() for c in s.split(",") if c.strip()]
json.dump({
    "outdir": outdir,
    "servers": [{"agent": "runnel", "url": "ws://127.0.0.1:%s" % port}],
    "cases": split(cases),
    "exclude-cases": split(exclude),
    "exclude-agent-cases": {},
}, open(path, "w"), indent=2)
EOF
log "wstest -m fuzzingclient (cases: $CASES), reports in $REPORT_DIR"
START=$(date +%s)
(cd "$WORK" && "$PY2" "$WSTEST" -m fuzzingclient -s "$WORK/spec.json") >"$WORK/wstest.log" 2>&1 || {
    tail -n 30 "$WORK/wstest.log" >&2
    die "wstest failed"
}
ELAPSED=$(( $(date +%s) - START ))
cp "$WORK/wstest.log" "$WORK/server.log" "$REPORT_DIR/" 2>/dev/null || true

# --- 5. Stop the server, summarise -------------------------------------------------------
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

python3 - "$REPORT_DIR/index.json" "$ELAPSED" <<'EOF'
import collections, json, sys
index_path, elapsed = sys.argv[1], sys.argv[2]
try:
    index = json.load(open(index_path))
except (OSError, ValueError) as error:
    sys.exit("autobahn.sh: cannot read %s: %s" % (index_path, error))
results = index.get("runnel") or sys.exit("autobahn.sh: no results for agent 'runnel'")
kinds = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
key = lambda case: [int(part) for part in case.split(".")]
by_category = collections.defaultdict(collections.Counter)
notable = []
for case in sorted(results, key=key):
    result = results[case]
    behavior = result["behavior"]
    if "FAILED" in (behavior, result.get("behaviorClose")):
        behavior = "FAILED"
    by_category[key(case)[0]][behavior] += 1
    if behavior in ("FAILED", "NON-STRICT"):
        notable.append((case, behavior, result))
print("%-8s" % "category" + "".join("%15s" % kind for kind in kinds))
total = collections.Counter()
for category in sorted(by_category):
    counts = by_category[category]
    total.update(counts)
    print("%-8s" % category + "".join("%15d" % counts[kind] for kind in kinds))
print("%-8s" % "total" + "".join("%15d" % total[kind] for kind in kinds))
for case, behavior, result in notable:
    print("%s %s (close %s, remote close code %s) see %s" % (
        behavior, case, result.get("behaviorClose"), result.get("remoteCloseCode"), result.get("reportfile")))
print("%d cases in %ss; reports: %s" % (len(results), elapsed, index_path.rsplit("/", 1)[0]))
if total["FAILED"]:
    sys.exit("autobahn.sh: %d case(s) FAILED" % total["FAILED"])
EOF

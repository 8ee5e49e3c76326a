#!/usr/bin/env python3
"""Event-to-dashboard latency of `creator-analytics serve` under load.

Starts `serve` (release build), subscribes to `post_views` on the feed, posts background
load (unique post_viewed events, timestamped now) at --rate events/s in batches of 1000,
and every 100 ms posts one probe event for a post of its own; the latency of a probe is
the time from posting it to the first feed update for its post. Prints the load reached
and the latency percentiles. Needs Python's websockets (scripts/install-deps.sh).

Usage: python3 Benchmarks/latency.py [--rate 100000] [--seconds 20]
"""
import argparse, datetime, http.client, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from websockets.sync.client import connect

parser = argparse.ArgumentParser()
parser.add_argument("--rate", type=int, default=100_000)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--binary", default=".build/release/creator-analytics")
args = parser.parse_args()

data = tempfile.mkdtemp(prefix="runnel-latency-")  # a fresh log and no checkpoint to restore
server = subprocess.Popen([args.binary, "serve", "--port", "0", "--insecure-no-auth", "--parallelism", "2", "--data-dir", data],
                          stderr=subprocess.PIPE, text=True)
port = None
for line in server.stderr:
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

def post(conn, body):
    conn.request("POST", "/v1/events", body=body, headers={"Content-Type": "application/x-ndjson"})
    response = conn.getresponse()
    response.read()
    return response.status

sent = {}        # probe post id -> send time
received = {}    # probe post id -> first receive time
stop = threading.Event()
load_events = [0]
refused = [0]

def feed():
    with connect(f"ws://127.0.0.1:{port}/v1/feed", max_size=None) as ws:
        ws.send(json.dumps({"op": "subscribe", "topics": ["post_views"]}))
        while not stop.is_set():
            try:
                message = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            t = time.monotonic()
            if '"probe-' in message:
                data = json.loads(message).get("data", {})
                post_id = data.get("post_id", "")
                if post_id.startswith("probe-") and post_id not in received:
                    received[post_id] = t

def load():
    conn = http.client.HTTPConnection("127.0.0.1", port)
    batch, interval, counter = 1000, 1000 / args.rate, 0
    next_time = time.monotonic()
    while not stop.is_set():
        ts = now_iso()
        lines = []
        for i in range(batch):
            counter += 1
            lines.append(f'{{"event_id":"00000000-0000-4000-8000-{counter:012d}","event_name":"post_viewed","timestamp":"{ts}",'
                         f'"user_id":"u-{counter % 5000}","post_id":"p-{counter % 1000}","creator_id":"c-{counter % 100}"}}')
        status = post(conn, "\n".join(lines))
        if status == 202:
            load_events[0] += batch
        else:
            refused[0] += 1
        next_time += interval
        delay = next_time - time.monotonic()
        if delay > 0:
            time.sleep(delay)

def probes():
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = 0
    while not stop.is_set():
        n += 1
        post_id = f"probe-{n}"
        body = (f'{{"event_id":"00000000-0000-4000-9000-{n:012d}","event_name":"post_viewed","timestamp":"{now_iso()}",'
                f'"user_id":"probe","post_id":"{post_id}","creator_id":"c-probe"}}')
        sent[post_id] = time.monotonic()
        post(conn, body)
        time.sleep(0.1)

threads = [threading.Thread(target=f, daemon=True) for f in (feed, load, probes)]
for t in threads:
    t.start()
start = time.monotonic()
time.sleep(args.seconds)
stop.set()
elapsed = time.monotonic() - start
time.sleep(1)
server.send_signal(2)
server.wait(timeout=10)
shutil.rmtree(data, ignore_errors=True)

latencies = sorted((received[p] - sent[p]) * 1000 for p in sent if p in received)
if not latencies:
    print("no probe arrived"); sys.exit(1)
pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"load: {load_events[0] / elapsed:,.0f} events/s posted ({refused[0]} batches refused with 503)")
print(f"probes: {len(latencies)} of {len(sent)} seen; latency p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {latencies[-1]:.0f} ms")

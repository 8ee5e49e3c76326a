"""Nexmark on Runnel and on Flink SQL, side by side, on the same generated events.

Writes the events with `runnel-nexmark --write-events` (flat NDJSON), then per query:
checks on a smaller file that both engines' results are the same (Flink's print sink
against Runnel's results file, as multisets of normalized rows), and times both on the
larger file with a blackhole sink, runs alternating: events/s, CPU seconds of the process
tree and events per CPU-second. Writes a Markdown table into results/ (not committed).
q12 (processing-time windows) has no comparable results and is left out. `--flink-config
nexmark` runs Flink with the Nexmark benchmark's table settings (see flink_configurations.py).

Run through Benchmarks/flink/run-nexmark.sh, which prepares the virtual environment.
"""
import argparse, collections, datetime, importlib.metadata, os, statistics, subprocess, sys

from flink_configurations import CONFIGURATIONS
from measure import ROOT, measure, print_sink_rows, runnel_binary, to_millis, warm_page_cache

parser = argparse.ArgumentParser()
parser.add_argument("--queries", default="q0,q1,q5,q7,q8,q11")
parser.add_argument("--check-events", type=int, default=1_000_000, help="events of the results check")
parser.add_argument("--events", type=int, default=10_000_000, help="events of the timed runs")
parser.add_argument("--runs", type=int, default=1, help="timed runs of each engine per query (alternating)")
parser.add_argument("--parallelism", type=int, default=2)
parser.add_argument("--work", default="/tmp/runnel-vs-flink-nexmark")
parser.add_argument("--results", default=os.path.join(ROOT, "results"))
parser.add_argument("--flink-config", default="default", choices=list(CONFIGURATIONS),
                    help="Flink's configuration (see flink_configurations.py)")
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
os.makedirs(args.results, exist_ok=True)
NEXMARK = runnel_binary("runnel-nexmark")
FLINK_JOB = os.path.join(os.path.dirname(__file__), "nexmark_flink.py")


def events_file(count):
    path = os.path.join(args.work, f"nexmark-{count}.ndjson")
    if not os.path.exists(path):
        subprocess.run([NEXMARK, "--events", str(count), "--write-events", path], check=True)
    return path


def runnel(query, events, results=None):
    command = [NEXMARK, "--input", events, "--queries", query, "--runs", "1", "--checkpoints", "off",
               "--parallelism", str(args.parallelism)] + (["--results-file", results] if results else [])
    warm_page_cache(events)  # both systems start on a hot cache (see measure.warm_page_cache)
    with open(os.devnull, "w") as devnull:
        return measure(command, devnull)


def flink(query, events, sink, output=os.devnull):
    warm_page_cache(events)
    with open(output, "w") as f:
        return measure([sys.executable, FLINK_JOB, events, query, str(args.parallelism), sink, args.flink_config], f)


def normalized_flink(query, path):
    rows = collections.Counter()
    for _, fields in print_sink_rows(path):
        if query in ("q5", "q11"):
            fields = fields[:2] + [str(to_millis(fields[2])), str(to_millis(fields[3]))]
        elif query == "q8":
            fields = fields[:2] + [str(to_millis(fields[2]))]
        elif query == "q7":
            fields = [fields[0], fields[2], fields[1], fields[3], fields[4]]
        rows["\t".join(fields)] += 1
    return rows


def normalized_runnel(path):
    with open(path) as f:
        return collections.Counter(line.rstrip("\n") for line in f)


def runnel_checksum(query, source):
    """The checksum column of runnel-nexmark's table for `query` over `source` arguments."""
    output = subprocess.run([NEXMARK, "--queries", query, "--runs", "1", "--checkpoints", "off",
                             "--parallelism", str(args.parallelism)] + source, check=True, capture_output=True, text=True).stdout
    return [line for line in output.splitlines() if line.startswith(f"| {query} |")][-1].rstrip(" |").split("| ")[-1]


check_file, perf_file = events_file(args.check_events), events_file(args.events)
tiny = events_file(100)
startup = flink("q0", tiny, "blackhole")[0]
print(f"Flink start-up (100 events): {startup:.1f} s", flush=True)
rows = []
for query in args.queries.split(","):
    runnel_out = os.path.join(args.work, f"runnel-{query}.txt")
    flink_out = os.path.join(args.work, f"flink-{query}.txt")
    runnel(query, check_file, runnel_out)
    flink(query, check_file, "print", flink_out)
    r, f = normalized_runnel(runnel_out), normalized_flink(query, flink_out)
    # The file carries the generated events faithfully: Runnel gets the same results from it
    # as from its in-process generator.
    from_file = runnel_checksum(query, ["--input", check_file])
    generated = runnel_checksum(query, ["--events", str(args.check_events)])
    if from_file != generated:
        sys.exit(f"{query}: Runnel's results from the file ({from_file}) differ from the generator's ({generated})")
    same = r == f
    print(f"{query}: {sum(r.values())} results (Runnel), {sum(f.values())} (Flink) on {args.check_events} events; identical: {same}", flush=True)
    if not same:
        print(f"  only Runnel: {list((r - f).items())[:2]}; only Flink: {list((f - r).items())[:2]}", flush=True)
    timed = {"Runnel": [], "Flink": []}
    for run in range(args.runs):
        order = [("Runnel", lambda: runnel(query, perf_file)), ("Flink", lambda: flink(query, perf_file, "blackhole"))]
        for name, job in (order if run % 2 == 0 else order[::-1]):
            timed[name].append(job())
            wall, cpu, peak = timed[name][-1]
            print(f"{query}, {args.events} events, {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, {peak / 2**20:.0f} MiB", flush=True)
    for name in ("Runnel", "Flink"):
        walls = [t[0] for t in timed[name]]
        cpus = [t[1] for t in timed[name]]
        rows.append((query, name, statistics.median(walls), min(walls), max(walls), statistics.median(cpus), same))

stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
configuration = "" if args.flink_config == "default" else f", {args.flink_config} configuration"
lines = [f"Nexmark, Runnel vs Flink {importlib.metadata.version('apache-flink')} (Flink SQL{configuration}), both reading the same "
         f"{args.events:,} events from NDJSON, parallelism {args.parallelism}, {args.runs} run(s) each, {stamp}; "
         f"results checked on {args.check_events:,} events", "",
         "| query | engine | wall s, median (min–max) | events/s | events/s without Flink's start-up | CPU s | events per CPU-second | results identical |",
         "|---|---|---:|---:|---:|---:|---:|---|"]
for query, name, wall, low, high, cpu, same in rows:
    net = args.events / max(wall - startup, 1e-3) if name == "Flink" else args.events / wall
    lines.append(f"| {query} | {name} | {wall:.1f} ({low:.1f}–{high:.1f}) | {args.events / wall:,.0f} | {net:,.0f} | {cpu:.1f} | "
                 f"{args.events / cpu:,.0f} | {'yes' if same else 'NO'} |")
lines.append("")
lines.append(f"Flink's fixed start-up cost (100 events): {startup:.1f} s wall. Both engines' wall times are of whole processes.")
table = "\n".join(lines)
print(table)
name = datetime.datetime.now(datetime.timezone.utc).strftime("nexmark-flink-vs-runnel-%Y%m%d-%H%M.md")
with open(os.path.join(args.results, name), "w") as f:
    f.write(table + "\n")
print(f"wrote {os.path.join(args.results, name)}")
if not all(row[-1] for row in rows):
    sys.exit("the results differ")

"""Runnel against a floor: the creator replay written by hand for this one job
(`creator-replay-floor`, Benchmarks/ReplayFloor), with the state laid out for the job
alone. Runs the floor on one thread, on two as a pipeline and on two partitioned, Runnel at
parallelism 1 and Runnel at parallelism 2 in rotation on the same inputs, checks that all
write the same result lines and count the same valid, invalid, duplicate and late events, and reports wall
time, CPU seconds, events per CPU-second and peak RSS, and, per round of runs, how much
more CPU or time Runnel takes than the floor. Writes a Markdown table into results/ (not
committed).

The outputs are compared line for line (as multisets of lines: the order differs between
runs). `--edge-cases` runs the floors and Runnel at parallelism 1 on a file made to reach
what generated traffic does not (replay_edge_cases.py: sessions closing exactly at a
watermark, late events joining open sessions, deduplication entries expiring at a
watermark, timestamps before 1970, ids of every form); at parallelism 2 (Runnel's, and the
partitioned floor's) watermarks advance differently, so late events may legitimately be
judged otherwise there.

The floor also runs with two threads (`--threads 2`: one reads, decodes and deduplicates,
the other keeps the windows, records handed over in batches); its CPU time then includes
the waiting of either thread (it yields in a loop), so only its wall time is compared.
`--partitioned` runs it on two threads as a dataflow engine runs the job at parallelism 2:
each thread reads every other block of the file and owns half of every keyed state, records
crossing to the other thread by their keys through rings of batches, watermarks travelling
with them (the smaller of a stage's two inputs' counts). It has Runnel's exchanges, then,
but none of its generality; it too yields while it waits, so only its wall time counts.

The floor is not a competitor: it knows the job's ids and its three states, and it has no
exchanges and no checkpoints. It shows how much CPU the job's work itself takes on this
machine, so what Runnel takes beyond it is the engine's cost.

Run through Benchmarks/flink/run-floor.sh, which builds both in release mode.
"""
import argparse, collections, datetime, os, re, statistics, sys

import replay_edge_cases
from measure import ROOT, generated_input, measure, rotation, runnel_binary, warm_page_cache

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="1000000,5000000", help="events per input, comma-separated")
parser.add_argument("--runs", type=int, default=5, help="runs of each system per size (in rotation)")
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--work", default="/tmp/runnel-vs-flink", help="where inputs are (generated if missing) and outputs go")
parser.add_argument("--results", default=os.path.join(ROOT, "results"))
parser.add_argument("--edge-cases", action="store_true",
                    help="instead of generated traffic, the edge-case file, on the floor and Runnel at parallelism 1")
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
os.makedirs(args.results, exist_ok=True)
CLI = runnel_binary("creator-analytics")
FLOOR = runnel_binary("creator-replay-floor")
FLOOR_NAME = "floor (by hand, 1 thread)"
FLOOR2_NAME = "floor (by hand, 2 threads)"
FLOOR_PARTITIONED_NAME = "floor (by hand, partitioned)"
# The floor's layouts: name → (arguments, output file stem).
FLOOR_LAYOUTS = {
    FLOOR_NAME: (["--threads", "1"], "floor"),
    FLOOR2_NAME: (["--threads", "2"], "floor-2-threads"),
    FLOOR_PARTITIONED_NAME: (["--partitioned"], "floor-partitioned"),
}
SYSTEMS = [FLOOR_NAME, FLOOR2_NAME, "Runnel p=1"] + ([] if args.edge_cases else [FLOOR_PARTITIONED_NAME, "Runnel p=2"])


def run(system, events, out):
    if system in FLOOR_LAYOUTS:
        command = [FLOOR, events, out] + FLOOR_LAYOUTS[system][0]
    else:
        command = [CLI, "replay", "--input", events, "--output", out, "--parallelism", system[-1]]
    with open(os.devnull, "w") as devnull:
        return measure(command, devnull, stderr_path=out + ".summary")


def counts(out):
    """The valid, invalid, duplicate and late events a run reported (both programs end with
    the same summary line on standard error)."""
    with open(out + ".summary") as f:
        found = re.search(r"valid (\d+), invalid (\d+), duplicates (\d+), late (\d+)", f.read())
    return found.groups() if found else None


def result_lines(path):
    """The output's lines, as a multiset (split at newlines only)."""
    with open(path, newline="") as f:
        return collections.Counter(f.read().split("\n"))


def output_path(system, size):
    label = FLOOR_LAYOUTS[system][1] if system in FLOOR_LAYOUTS else system.lower().replace(" ", "-").replace("=", "")
    return os.path.join(args.work, f"{label}-{size}.out")


lines = []
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
lines.append(f"Creator replay, Runnel against the hand-written floor, {args.runs} runs each in rotation, "
             f"input read into the page cache before every run, {stamp}, {os.cpu_count()} vCPUs")
lines.append("")
lines.append("| events | system | wall s, median (min–max) | CPU s, median (min–max) | events per CPU-second | peak RSS | results identical |")
lines.append("|---:|---|---:|---:|---:|---:|---|")
notes = []
identical_everywhere = True
if args.edge_cases:
    edge_file = replay_edge_cases.write(os.path.join(args.work, "edge-cases.ndjson"))
    with open(edge_file) as f:
        inputs = [(sum(1 for _ in f), edge_file)]
else:
    inputs = [(int(size), None) for size in args.sizes.split(",")]
for size, events in inputs:
    events = events or generated_input(CLI, args.work, size, args.seed)
    measured = {name: [] for name in SYSTEMS}
    for round_ in range(args.runs):
        for name in rotation(SYSTEMS, round_):
            warm_page_cache(events)
            wall, cpu, peak = run(name, events, output_path(name, size))
            measured[name].append((wall, cpu, peak))
            print(f"{size} events, {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {peak / 2**20:.0f} MiB peak", flush=True)
    expected = result_lines(output_path(FLOOR_NAME, size))
    expected_counts = counts(output_path(FLOOR_NAME, size))
    agrees = {}
    for name in SYSTEMS[1:]:
        got = result_lines(output_path(name, size))
        got_counts = counts(output_path(name, size))
        agrees[name] = got == expected and got_counts == expected_counts and got_counts is not None
        if got != expected:
            print(f"{size} events: {name} differs from the floor; only in {name}: {sorted((got - expected).elements())[:3]}; "
                  f"only in the floor: {sorted((expected - got).elements())[:3]}", flush=True)
        if got_counts != expected_counts or got_counts is None:
            print(f"{size} events: {name} counted (valid, invalid, duplicates, late) {got_counts}, the floor {expected_counts}",
                  flush=True)
    agrees[FLOOR_NAME] = all(agrees.values())
    identical_everywhere = identical_everywhere and agrees[FLOOR_NAME]
    for name in SYSTEMS:
        walls = [m[0] for m in measured[name]]
        cpus = [m[1] for m in measured[name]]
        lines.append(f"| {size:,} | {name} | {statistics.median(walls):.2f} ({min(walls):.2f}–{max(walls):.2f}) | "
                     f"{statistics.median(cpus):.2f} ({min(cpus):.2f}–{max(cpus):.2f}) | {size / statistics.median(cpus):,.0f} | "
                     f"{max(m[2] for m in measured[name]) / 2**20:.0f} MiB | {'yes' if agrees[name] else 'NO'} |")
    # The machine's speed drifts over minutes: ratios of runs made in the same round say more
    # than ratios of medians taken over the whole series.
    floor_cpu = [m[1] for m in measured[FLOOR_NAME]]
    for name in [n for n in SYSTEMS if n.startswith("Runnel")]:
        ratios = sorted(m[1] / f for m, f in zip(measured[name], floor_cpu))
        notes.append(f"{size:,} events: {name} takes {statistics.median(ratios):.2f}× the floor's CPU "
                     f"(per round {ratios[0]:.2f}–{ratios[-1]:.2f}×)")
    if "Runnel p=2" not in measured:
        continue
    p2_wall = [m[0] for m in measured["Runnel p=2"]]
    ideal = sorted(w / (f / 2) for w, f in zip(p2_wall, floor_cpu))
    notes.append(f"{size:,} events: Runnel p=2's wall time is {statistics.median(ideal):.2f}× half the floor's CPU time "
                 f"(the floor's work spread over both cores without any cost; per round {ideal[0]:.2f}–{ideal[-1]:.2f}×)")
    two = sorted(w / f[0] for w, f in zip(p2_wall, measured[FLOOR2_NAME]))
    notes.append(f"{size:,} events: Runnel p=2's wall time is {statistics.median(two):.2f}× the two-thread floor's "
                 f"(per round {two[0]:.2f}–{two[-1]:.2f}×)")
    part = sorted(w / f[0] for w, f in zip(p2_wall, measured[FLOOR_PARTITIONED_NAME]))
    notes.append(f"{size:,} events: Runnel p=2's wall time is {statistics.median(part):.2f}× the partitioned floor's "
                 f"(per round {part[0]:.2f}–{part[-1]:.2f}×)")
lines.append("")
lines.extend(notes)
table = "\n".join(lines)
print(table)
name = datetime.datetime.now(datetime.timezone.utc).strftime("floor-vs-runnel-%Y%m%d-%H%M")
with open(os.path.join(args.results, name + ".md"), "w") as f:
    f.write(table + "\n")
print(f"wrote {os.path.join(args.results, name)}.md")
if not identical_everywhere:
    sys.exit("the results differ")

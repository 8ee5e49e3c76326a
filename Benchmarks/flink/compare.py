"""Runnel against Apache Flink on the creator replay workload: same machine, same input,
runs alternating. Checks both produce the same post views and sessions, then reports wall
time, events/s, CPU seconds of the whole process tree, events per CPU-second and peak RSS
of the tree, and Flink's fixed start-up cost (a run on a tiny input). Writes a Markdown
table and a PNG chart into results/ (not committed).

`--flink-configs default,object-reuse,nexmark` runs Flink in each of these configurations
(see flink_configurations.py), each as a system of its own in the same rotation.

`--with-floor` adds the hand-written floor of the job on two threads to the rotation, in its
two layouts (see floor_compare.py): as a two-stage pipeline (`creator-replay-floor --threads
2`) and partitioned as a dataflow engine runs the job at parallelism 2 (`--partitioned`:
each thread reads half of the file and owns half of every keyed state, records crossing by
their keys). Their results are checked against Runnel's. They are not competitors: they show,
against the same Flink runs, what a program written for this one job alone reaches on this
machine, and so how far a ratio to Flink is up to the engine at all.

Run through Benchmarks/flink/run.sh, which prepares the virtual environment.
"""
import argparse, datetime, importlib.metadata, os, statistics, subprocess, sys, time

import flink_configurations
from flink_configurations import CONFIGURATIONS
from measure import (ROOT, generated_input, measure, print_sink_rows, replay_results, rotation, runnel_binary, to_millis,
                     warm_page_cache)

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="1000000,5000000", help="events per input, comma-separated")
parser.add_argument("--runs", type=int, default=3, help="runs of each system per size (alternating)")
parser.add_argument("--parallelism", type=int, default=2)
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--work", default="/tmp/runnel-vs-flink")
parser.add_argument("--results", default=os.path.join(ROOT, "results"))
parser.add_argument("--flink-configs", default="default",
                    help=f"Flink configurations to run ({', '.join(CONFIGURATIONS)}), comma-separated; see flink_configurations.py")
parser.add_argument("--with-floor", action="store_true",
                    help="add the hand-written floor on two threads (creator-replay-floor), pipelined and partitioned, to the rotation")
args = parser.parse_args()
FLINK_CONFIGS = args.flink_configs.split(",")
for config in FLINK_CONFIGS:
    flink_configurations.check(config)
if len(set(FLINK_CONFIGS)) != len(FLINK_CONFIGS):
    sys.exit("each Flink configuration may be named once")
# Each Flink configuration is a system of its own: "Flink" as installed, "Flink nexmark", …
FLINKS = ["Flink" if c == "default" else f"Flink {c}" for c in FLINK_CONFIGS]
# The hand-written floors: name → (arguments, output file stem).
FLOOR_LAYOUTS = {
    "floor (by hand, 2-stage pipeline)": (["--threads", "2"], "floor-2-threads"),
    "floor (by hand, partitioned)": (["--partitioned"], "floor-partitioned"),
}
FLOORS = list(FLOOR_LAYOUTS) if args.with_floor else []
SYSTEMS = ["Runnel"] + FLINKS + FLOORS
os.makedirs(args.work, exist_ok=True)
os.makedirs(args.results, exist_ok=True)
CLI = runnel_binary("creator-analytics")
FLOOR = runnel_binary("creator-replay-floor")
FLINK_JOB = os.path.join(os.path.dirname(__file__), "creator_replay_flink.py")


def flink_results(path):
    views, sessions = set(), set()
    for kind, fields in print_sink_rows(path):
        if kind == "post_views":
            views.add((fields[0], to_millis(fields[1]), fields[2], int(fields[3]), int(fields[4])))
        elif kind == "session":
            sessions.add((fields[0], to_millis(fields[1]), to_millis(fields[2]), int(fields[3]), int(fields[4]), int(fields[5])))
    return views, sessions


def run_runnel(events, out):
    with open(os.devnull, "w") as devnull:
        return measure([CLI, "replay", "--input", events, "--output", out, "--parallelism", str(args.parallelism)], devnull)


def run_flink(events, out, config="default"):
    with open(out, "w") as f:
        return measure([sys.executable, FLINK_JOB, events, str(args.parallelism), config], f)


def run_floor(events, out, layout):
    with open(os.devnull, "w") as devnull:
        return measure([FLOOR, events, out] + FLOOR_LAYOUTS[layout][0], devnull)


def output_path(system, size):
    if system in FLOOR_LAYOUTS:
        return os.path.join(args.work, f"{FLOOR_LAYOUTS[system][1]}-{size}.out")
    return os.path.join(args.work, f"{system.lower().replace(' ', '-')}-{size}.out")


RUNNERS = {"Runnel": run_runnel}
for layout in FLOORS:
    RUNNERS[layout] = lambda events, out, layout=layout: run_floor(events, out, layout)
for name, config in zip(FLINKS, FLINK_CONFIGS):
    RUNNERS[name] = lambda events, out, config=config: run_flink(events, out, config)


def round_ratios(slower, faster):
    """The wall time of `slower`'s runs over `faster`'s, round by round: (median, min, max).
    The machine's speed drifts over minutes, so the ratio of the runs of each round (made
    within minutes of each other; with two systems, next to each other) says more than a
    ratio of medians taken over the series."""
    ratios = sorted(s[0] / f[0] for s, f in zip(slower, faster))
    return statistics.median(ratios), ratios[0], ratios[-1]


rows = []
# (size, slower system, faster system) → round_ratios of the two.
pair_ratios = {}
tiny = os.path.join(args.work, "tiny.ndjson")
subprocess.run([CLI, "generate", "--events", "100", "--seed", str(args.seed), "--output", tiny], check=True)
startup = run_flink(tiny, os.path.join(args.work, "tiny-flink.txt"))[0]
print(f"Flink start-up (100 events): {startup:.1f} s", flush=True)

for size in [int(s) for s in args.sizes.split(",")]:
    events = generated_input(CLI, args.work, size, args.seed)
    measured = {name: [] for name in SYSTEMS}
    for run in range(args.runs):
        for name in rotation(SYSTEMS, run):
            out = output_path(name, size)
            resident = warm_page_cache(events)
            wall, cpu, peak = RUNNERS[name](events, out)
            measured[name].append((wall, cpu, peak))
            cached = f", input {resident:.0%} cached before warming" if resident is not None else ""
            print(f"{size} events, {name}: {wall:.2f} s wall, {cpu:.1f} s CPU, {peak / 2**20:.0f} MiB peak{cached}", flush=True)
    r_views, r_sessions = replay_results(output_path("Runnel", size))
    # Whether each Flink configuration's results are Runnel's (Runnel's row: all of them).
    agrees = {}
    for flink in FLINKS:
        f_views, f_sessions = flink_results(output_path(flink, size))
        agrees[flink] = r_views == f_views and r_sessions == f_sessions
        print(f"{size} events: post views {len(r_views)} (Runnel) / {len(f_views)} ({flink}), sessions {len(r_sessions)} / "
              f"{len(f_sessions)}; identical: {agrees[flink]}", flush=True)
        if not agrees[flink]:
            for label, a, b in [("post views", r_views, f_views), ("sessions", r_sessions, f_sessions)]:
                print(f"  {label} only in Runnel: {sorted(a - b)[:3]}; only in {flink}: {sorted(b - a)[:3]}")
        pair_ratios[(size, flink, "Runnel")] = round_ratios(measured[flink], measured["Runnel"])
        for floor in FLOORS:
            pair_ratios[(size, flink, floor)] = round_ratios(measured[flink], measured[floor])
    for floor in FLOORS:
        agrees[floor] = replay_results(output_path(floor, size)) == (r_views, r_sessions)
        print(f"{size} events: the results of the {floor} are Runnel's: {agrees[floor]}", flush=True)
        pair_ratios[(size, "Runnel", floor)] = round_ratios(measured["Runnel"], measured[floor])
    for name in SYSTEMS:
        walls = [m[0] for m in measured[name]]
        cpus = [m[1] for m in measured[name]]
        peaks = [m[2] for m in measured[name]]
        rows.append({"size": size, "system": name, "wall": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
                     "events_per_s": size / statistics.median(walls), "cpu": statistics.median(cpus),
                     "per_cpu_s": size / statistics.median(cpus), "peak_mib": max(peaks) / 2**20,
                     "identical": agrees[name] if name in agrees else all(agrees[f] for f in FLINKS)})

stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
configs = "" if FLINK_CONFIGS == ["default"] else f" in configurations {', '.join(FLINK_CONFIGS)}"
floor_note = ", with the hand-written floor on two threads (pipelined and partitioned) in the same rotation" if args.with_floor else ""
lines = [f"Creator replay, Runnel vs Flink {importlib.metadata.version('apache-flink')} (Flink SQL){configs}, parallelism {args.parallelism}{floor_note}, "
         f"{args.runs} alternating runs each, input read into the page cache before every run, {stamp}, {os.cpu_count()} vCPUs", "",
         "| events | system | wall s, median (min–max) | events/s | events/s without Flink's start-up | CPU s (tree) | events per CPU-second | peak RSS (tree) | results identical |",
         "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
for r in rows:
    net = r["size"] / max(r["wall"] - startup, 1e-3) if r["system"] in FLINKS else r["events_per_s"]
    lines.append(f"| {r['size']:,} | {r['system']} | {r['wall']:.2f} ({r['wall_min']:.2f}–{r['wall_max']:.2f}) | {r['events_per_s']:,.0f} | "
                 f"{net:,.0f} | {r['cpu']:.1f} | {r['per_cpu_s']:,.0f} | {r['peak_mib']:.0f} MiB | {'yes' if r['identical'] else 'NO'} |")
for size in sorted({r["size"] for r in rows}):
    runnel = next(r for r in rows if r["size"] == size and r["system"] == "Runnel")
    for name in FLINKS:
        flink = next(r for r in rows if r["size"] == size and r["system"] == name)
        lines.append("")
        flink_net = size / max(flink["wall"] - startup, 1e-3)
        median, low, high = pair_ratios[(size, name, "Runnel")]
        lines.append(f"{size:,} events: Runnel/{name} events/s {runnel['events_per_s'] / flink['events_per_s']:.1f}× "
                     f"({runnel['events_per_s'] / flink_net:.1f}× against {name} without its start-up), "
                     f"events per CPU-second {runnel['per_cpu_s'] / flink['per_cpu_s']:.1f}×; "
                     f"events/s per {'alternating pair' if len(SYSTEMS) == 2 else 'round of runs'} {median:.1f}× ({low:.1f}–{high:.1f}×)")
        for floor_name in FLOORS:
            floor = next(r for r in rows if r["size"] == size and r["system"] == floor_name)
            median, low, high = pair_ratios[(size, name, floor_name)]
            lines.append(f"{size:,} events: the {floor_name}/{name} events/s "
                         f"{floor['events_per_s'] / flink['events_per_s']:.1f}×; per round of runs {median:.1f}× ({low:.1f}–{high:.1f}×)")
    for floor_name in FLOORS:
        median, low, high = pair_ratios[(size, "Runnel", floor_name)]
        lines.append(f"{size:,} events: Runnel's wall time is {median:.2f}× that of the {floor_name} per round of runs "
                     f"({low:.2f}–{high:.2f}×)")
lines.append("")
lines.append(f"Flink's fixed start-up cost (100 events, as installed): {startup:.1f} s wall.")
table = "\n".join(lines)
print(table)
name = datetime.datetime.now(datetime.timezone.utc).strftime("flink-vs-runnel-%Y%m%d-%H%M")
with open(os.path.join(args.results, name + ".md"), "w") as f:
    f.write(table + "\n")

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
sizes = sorted({r["size"] for r in rows})
figure, axes = plt.subplots(1, 2, figsize=(10, 4))
for axis, key, title in [(axes[0], "events_per_s", "events/s"), (axes[1], "per_cpu_s", "events per CPU-second")]:
    width = 0.8 / len(SYSTEMS)
    for i, system in enumerate(SYSTEMS):
        values = [next(r[key] for r in rows if r["size"] == s and r["system"] == system) for s in sizes]
        axis.bar([j + i * width for j in range(len(sizes))], values, width=width, label=system)
    axis.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))], [f"{s / 1e6:g} M events" for s in sizes])
    axis.set_title(title)
    axis.legend()
figure.suptitle(f"Creator replay, parallelism {args.parallelism} ({stamp})")
figure.tight_layout()
figure.savefig(os.path.join(args.results, name + ".png"))
print(f"wrote {os.path.join(args.results, name)}.md and .png")
if not all(r["identical"] for r in rows):
    sys.exit("the results differ")

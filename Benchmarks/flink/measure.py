"""Measuring a benchmark process and its descendants, and reading what Flink's print sink
and the replay wrote: shared by the comparison scripts."""
import datetime, json, os, subprocess, sys, tempfile, threading, time

import psutil

# The repository's root, where results/ and .build/ are.
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def runnel_binary(name):
    """The path of a Runnel executable: in $RUNNEL_BIN when set (the run scripts set it to
    the link-time optimized release build of scripts/release-build.sh), else in the release
    build."""
    return os.path.join(os.environ.get("RUNNEL_BIN", os.path.join(ROOT, ".build", "release")), name)


# Seconds between samples of the process tree. Sampling is not free: each sample walks
# /proc and wakes this process on one of the machine's cores, so it preempts a benchmark
# that keeps every core busy. Every 50 ms it slowed Runnel's 5 M-event replay (about 3.5 s,
# both cores busy) by about 8 % (5 alternating runs: median 3.75 s sampled against 3.48 s
# unobserved); every 250 ms, by about 2 % (3.57 s against 3.51 s), within this machine's
# noise. A Flink run lasts tens of seconds, so its peak memory is still sampled hundreds
# of times.
SAMPLE_INTERVAL = 0.25


def resident_fraction(path):
    """How much of `path` is in the page cache (0–1), from `fincore` (util-linux); None when
    it cannot tell."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", path],
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[0]) / max(int(out[1]), 1)
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def warm_page_cache(path):
    """Reads `path` once so that the run that follows finds it in the page cache; returns the
    fraction that was resident before (None if unknown).

    Every run, of either system, starts this way. This VM's kernel reclaims cold page-cache
    pages on its own (DAMON reclaim): at the end of a series, only 37 % of the 1 M-event input and
    56 % of the 5 M-event input were still cached (`fincore`, 2026-11-27). Runnel then read
    the rest from disk: one of its 1 M-event runs took 4.5 s instead of 1.4 s, using the
    same CPU time. Flink's runs are long and CPU-bound, so reading from disk hides in them.
    Warming before every run measures both systems on a hot cache, which is what the
    comparison is about."""
    before = resident_fraction(path)
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    return before


def measure(command, stdout, interval=SAMPLE_INTERVAL, stderr_path=None):
    """Runs `command`; returns wall seconds, CPU seconds and peak RSS bytes of its process
    tree. The wall time ends when the process exits (this thread blocks in wait4 for it);
    the tree is sampled every `interval` seconds from another thread (Flink's JVM is a
    grandchild of the Python launcher). The child's own rusage at exit (which includes the
    descendants it waited for) covers what the samples miss, such as a run shorter than a
    sample. A descendant's CPU after the last sample (up to `interval`) is lost unless it
    was waited for: that can only under-count Flink's CPU.

    Returns only once every descendant seen has exited too: Flink's JVM outlives the
    launcher by about 0.3 s (shutting down), and the next run must not share the cores
    with it. That time is not counted in the wall time, which favours Flink slightly.

    With `stderr_path`, what the command wrote to standard error is kept there."""
    start = time.monotonic()
    # Standard error to a file: a pipe read only at exit would block a chatty child.
    errors = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(command, stdout=stdout, stderr=errors, text=True)
    root = psutil.Process(process.pid)
    cpu, peak, failure, seen = {}, [0], [], {}
    done = threading.Event()

    def sample():
        try:
            while not done.wait(interval):
                try:
                    tree = [root] + root.children(recursive=True)
                except psutil.NoSuchProcess:
                    return
                rss = 0
                for p in tree[1:]:
                    seen.setdefault(p.pid, p)
                for p in tree:
                    try:
                        times = p.cpu_times()
                        cpu[p.pid] = times.user + times.system
                        rss += p.memory_info().rss
                    except psutil.Error:  # gone, or not readable: left out of this sample
                        pass
                peak[0] = max(peak[0], rss)
        except Exception as error:  # reported after the run rather than lost with the thread
            failure.append(error)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        wall = time.monotonic() - start
        done.set()
        sampler.join()
    if failure:
        raise failure[0]
    _, lingering = psutil.wait_procs(list(seen.values()), timeout=60)
    if lingering:
        sys.exit(f"{command[0]}: descendants still running 60 s after it exited: {[p.pid for p in lingering]}")
    process.returncode = os.waitstatus_to_exitcode(status)
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if stderr_path:
        with open(stderr_path, "w") as f:
            f.write(stderr)
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed ({process.returncode}):\n{stderr[-3000:]}")
    waited = usage.ru_utime + usage.ru_stime
    return wall, max(sum(cpu.values()), waited), max(peak[0], usage.ru_maxrss * 1024)


def to_millis(text):
    text = text.strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1]
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def generated_input(cli, work, size, seed):
    """The creator events file of `size` events in `work`, generated with `cli` (Runnel's
    `creator-analytics`) from `seed` unless it is there already."""
    path = os.path.join(work, f"events-{size}.ndjson")
    if not os.path.exists(path):
        subprocess.run([cli, "generate", "--events", str(size), "--seed", str(seed), "--output", path], check=True)
    return path


def rotation(systems, index):
    """The order of round `index`: each round starts with the next system, so that none
    always runs first or after the same one (with two systems the order reverses every round)."""
    return systems[index % len(systems):] + systems[:index % len(systems)]


def replay_results(path):
    """The post views and sessions of a creator replay's result lines (as written by
    `creator-analytics replay` and `creator-replay-floor`), as two sets of tuples."""
    views, sessions = set(), set()
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["type"] == "post_views":
                views.add((r["post_id"], to_millis(r["window_start"]), r["creator_id"], r["views"], r["unique_viewers"]))
            elif r["type"] == "session":
                sessions.add((r["session_key"], to_millis(r["session_start"]), to_millis(r["session_end"]),
                              r["events"], r["post_views"], r["distinct_posts"]))
    return views, sessions


def print_sink_rows(path):
    """The rows Flink's print sink wrote to `path`, as (identifier, fields): a line
    `post_views:2> +I[p-1, 2026-02-22T23:59, c-1, 98, 97]` gives ("post_views", ["p-1", ...]).
    Fields keep their spaces (padding strings may end in one). Exits if Flink retracted or
    updated a row: the compared results must be final ones."""
    with open(path) as f:
        for line in f:
            if any(kind in line for kind in ("-U[", "+U[", "-D[")):
                sys.exit(f"Flink retracted or updated a result: {line.strip()}")
            if "+I[" not in line:
                continue
            identifier = line.split(">", 1)[0].strip().split(":")[0]  # "post_views:2": subtask 2
            yield identifier, line.split("+I[", 1)[1].rstrip("\n")[:-1].split(", ")

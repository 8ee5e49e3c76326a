"""The Flink configurations the comparison jobs can run in.

- "default": Flink as installed, nothing set.
- "object-reuse": object reuse between chained operators (`pipeline.object-reuse`), the
  one setting that made Flink faster on the creator replay (2026-11-27, 1 M events: 0.91×
  and 0.95× of the default's wall time, where each of the table settings below made it
  slower).
- "nexmark": the table settings of the Nexmark benchmark's own Flink configuration
  (nexmark-flink's conf: mini-batches of up to 50,000 rows or 2 s, split distinct
  aggregation), with object reuse: what the field runs Nexmark on Flink with.

Each keeps Flink's default heap state backend, which is faster than the Nexmark
configuration's RocksDB and keeps state in memory, as Runnel does.
"""
import sys

OBJECT_REUSE = {"pipeline.object-reuse": "true"}

CONFIGURATIONS = {
    "default": {},
    "object-reuse": OBJECT_REUSE,
    "nexmark": {
        **OBJECT_REUSE,
        "table.exec.mini-batch.enabled": "true",
        "table.exec.mini-batch.allow-latency": "2 s",
        "table.exec.mini-batch.size": "50000",
        "table.optimizer.distinct-agg.split.enabled": "true",
    },
}


def check(name):
    """Exits with a message unless `name` is a known configuration."""
    if name not in CONFIGURATIONS:
        sys.exit(f"unknown Flink configuration {name!r}: {', '.join(CONFIGURATIONS)}")


def apply(config, name):
    """Sets configuration `name` on a PyFlink TableConfig."""
    check(name)
    for key, value in CONFIGURATIONS[name].items():
        config.set(key, value)

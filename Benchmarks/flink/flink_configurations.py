"""The Flink configurations the comparison jobs can run in (measured in docs/PERFORMANCE.md,
"Side by side with Apache Flink", series 20 and 21).

- "default": Flink as installed, nothing set. The comparisons' reference.
- "object-reuse": object reuse between chained operators (`pipeline.object-reuse`), the
  setting a Flink user tuning a job for throughput tries first.
- "nexmark": the table settings of the Nexmark benchmark's Flink configuration
  (mini-batches of up to 50,000 rows or 2 s, split distinct aggregation), plus object reuse.

Each keeps Flink's default heap state backend, which keeps state in memory as Runnel does
(the Nexmark configuration's RocksDB backend keeps it on local disk).
"""

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
    """Exits with a message unless `name` is a key of CONFIGURATIONS."""
    if name not in CONFIGURATIONS:
        raise SystemExit(f"unknown Flink configuration {name!r}: {', '.join(CONFIGURATIONS)}")


def apply(config, name):
    """Sets configuration `name` (see ``check``) on a PyFlink TableConfig."""
    check(name)
    for key, value in CONFIGURATIONS[name].items():
        config.set(key, value)

"""The creator replay workload in Flink SQL (PyFlink, local mini-cluster).

Reads the NDJSON events file given as the first argument with Flink's filesystem source
(JSON format), keeps the lines Runnel's replay job keeps (an event_id, a known event_name,
an ISO-8601 timestamp and the fields each kind requires), watermarks them at timestamp
- 5 s, deduplicates by event_id keeping the first, and computes 1-minute tumbling
post_views (views and distinct viewers, a viewer being the user or else the session) and
30-minute session windows per visitor (events, post views, distinct posts). Results are
printed by Flink's print sink, one row per line, for compare.py to parse.

Usage: python creator_replay_flink.py EVENTS.ndjson PARALLELISM [default|object-reuse|nexmark]
(the Flink configuration: see flink_configurations.py).
"""
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

import flink_configurations

path, parallelism = sys.argv[1], int(sys.argv[2])
configuration = sys.argv[3] if len(sys.argv) > 3 else "default"
env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
config = env.get_config()
config.set("parallelism.default", str(parallelism))
config.set("pipeline.name", "creator-replay")
config.set("table.local-time-zone", "UTC")
flink_configurations.apply(config, configuration)

env.execute_sql(f"""
CREATE TABLE raw_events (
    event_id STRING,
    event_name STRING,
    `timestamp` TIMESTAMP_LTZ(3),
    user_id STRING,
    session_id STRING,
    post_id STRING,
    creator_id STRING,
    subscriber_id STRING,
    comment_id STRING,
    amount DOUBLE,
    currency STRING,
    proc AS PROCTIME(),
    -- A rowtime may not be null: lines without a valid timestamp get time 0, and are
    -- filtered out below (they are not events replay accepts).
    ts AS COALESCE(`timestamp`, TO_TIMESTAMP_LTZ(0, 3)),
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '{path}',
    'format' = 'json',
    'json.ignore-parse-errors' = 'true',
    'json.timestamp-format.standard' = 'ISO-8601'
)""")

# The lines replay accepts (its decoder's rules), then the first of each event_id.
env.execute_sql("""
CREATE TEMPORARY VIEW valid_events AS
SELECT * FROM raw_events
WHERE event_id IS NOT NULL AND event_id <> '' AND `timestamp` IS NOT NULL AND (
       (event_name IN ('user_registered', 'user_logged_in') AND user_id IS NOT NULL)
    OR (event_name = 'post_viewed' AND post_id IS NOT NULL AND creator_id IS NOT NULL)
    OR (event_name = 'post_published' AND user_id IS NOT NULL AND post_id IS NOT NULL)
    OR (event_name = 'comment_submitted' AND user_id IS NOT NULL AND post_id IS NOT NULL AND comment_id IS NOT NULL)
    OR (event_name = 'creator_subscribed' AND subscriber_id IS NOT NULL AND creator_id IS NOT NULL)
    OR (event_name = 'payment_succeeded' AND user_id IS NOT NULL AND creator_id IS NOT NULL AND amount IS NOT NULL AND currency IS NOT NULL))
""")
env.execute_sql("""
CREATE TEMPORARY VIEW deduplicated AS
SELECT event_id, event_name, ts, user_id, session_id, post_id, creator_id FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc ASC) AS n FROM valid_events
) WHERE n = 1
""")

env.execute_sql("""
CREATE TABLE post_views_out (post_id STRING, window_start TIMESTAMP(3), creator_id STRING, `views` BIGINT, unique_viewers BIGINT)
WITH ('connector' = 'print', 'print-identifier' = 'post_views')""")
env.execute_sql("""
CREATE TABLE sessions_out (session_key STRING, session_start TIMESTAMP_LTZ(3), session_end TIMESTAMP_LTZ(3), `events` BIGINT, post_views BIGINT, distinct_posts BIGINT)
WITH ('connector' = 'print', 'print-identifier' = 'session')""")

statements = env.create_statement_set()
statements.add_insert_sql("""
INSERT INTO post_views_out
SELECT post_id, window_start, MAX(creator_id), COUNT(*), COUNT(DISTINCT COALESCE(user_id, session_id))
FROM TABLE(TUMBLE(TABLE deduplicated, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
WHERE event_name = 'post_viewed'
GROUP BY post_id, window_start, window_end""")
statements.add_insert_sql("""
INSERT INTO sessions_out
SELECT visitor, MIN(ts), MAX(ts), COUNT(*),
       SUM(CASE WHEN event_name = 'post_viewed' THEN 1 ELSE 0 END),
       COUNT(DISTINCT CASE WHEN event_name = 'post_viewed' THEN post_id END)
FROM (SELECT *, COALESCE(user_id, session_id) AS visitor FROM deduplicated WHERE COALESCE(user_id, session_id) IS NOT NULL)
GROUP BY visitor, SESSION(ts, INTERVAL '30' MINUTE)""")
statements.execute().wait()

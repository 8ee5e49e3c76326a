"""Nexmark queries in Flink SQL (PyFlink, local mini-cluster) over events written by
`runnel-nexmark --write-events` (flat NDJSON: event_type 0 person, 1 auction, 2 bid;
dateTime in epoch milliseconds). The query texts follow the Nexmark benchmark's Flink
SQL, except: q1 multiplies by 908 in integers (Runnel's exact thousandths of a euro cent,
where the benchmark multiplies by 0.908), and q7 is a window join (see there). Results go
to Flink's print sink (to compare with Runnel's) or to its blackhole sink (to time).

Usage: python nexmark_flink.py EVENTS.ndjson QUERY PARALLELISM print|blackhole [default|object-reuse|nexmark]
(the Flink configuration: see flink_configurations.py).
"""
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

import flink_configurations

path, query, parallelism, sink = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
configuration = sys.argv[5] if len(sys.argv) > 5 else "default"
env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
config = env.get_config()
config.set("parallelism.default", str(parallelism))
config.set("table.local-time-zone", "UTC")
config.set("pipeline.name", f"nexmark-{query}")
flink_configurations.apply(config, configuration)

env.execute_sql(f"""
CREATE TABLE nexmark (
    event_type INT, id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
    itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT, expires BIGINT, seller BIGINT, category BIGINT,
    auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` BIGINT, extra STRING,
    dt AS TO_TIMESTAMP_LTZ(`dateTime`, 3),
    WATERMARK FOR dt AS dt - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'json')""")
env.execute_sql("CREATE TEMPORARY VIEW person AS SELECT id, name, dt, `dateTime` AS ms FROM nexmark WHERE event_type = 0")
env.execute_sql("CREATE TEMPORARY VIEW auction AS SELECT id, seller, dt, `dateTime` AS ms FROM nexmark WHERE event_type = 1")
env.execute_sql("CREATE TEMPORARY VIEW bid AS SELECT auction, bidder, price, dt, `dateTime` AS ms, extra FROM nexmark WHERE event_type = 2")

QUERIES = {
    "q0": ("auction BIGINT, bidder BIGINT, price BIGINT, ms BIGINT, extra STRING",
           "SELECT auction, bidder, price, ms, extra FROM bid"),
    "q1": ("auction BIGINT, bidder BIGINT, price BIGINT, ms BIGINT, extra STRING",
           "SELECT auction, bidder, price * 908, ms, extra FROM bid"),
    "q5": ("auction BIGINT, num BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)", """
        SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime, AuctionBids.endtime
        FROM (
            SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
            FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dt), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
            GROUP BY auction, window_start, window_end
        ) AuctionBids
        JOIN (
            SELECT MAX(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
            FROM (
                SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime
                FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dt), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                GROUP BY auction, window_start, window_end
            ) CountBids
            GROUP BY CountBids.starttime, CountBids.endtime
        ) MaxBids
        ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn"""),
    # The bids of each 10 s window whose price is the window's highest: a window join of the
    # bids with the window's maximum, so that a window is [start, end) as in Runnel (the
    # benchmark's text joins on dateTime BETWEEN rowtime - 10 s AND rowtime, the rowtime
    # being end - 1 ms, which also matches a bid 1 ms before the start). The plans differ:
    # Flink keeps every bid of a window in the join's state; Runnel keeps, per auction, only
    # its highest bids, then combines them per window.
    "q7": ("auction BIGINT, price BIGINT, bidder BIGINT, ms BIGINT, extra STRING", """
        SELECT B.auction, B.price, B.bidder, B.ms, B.extra
        FROM (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dt), INTERVAL '10' SECOND))) B
        JOIN (
            SELECT MAX(price) AS maxprice, window_start, window_end
            FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dt), INTERVAL '10' SECOND))
            GROUP BY window_start, window_end
        ) B1
        ON B.price = B1.maxprice AND B.window_start = B1.window_start AND B.window_end = B1.window_end"""),
    "q8": ("id BIGINT, name STRING, starttime TIMESTAMP(3)", """
        SELECT P.id, P.name, P.starttime
        FROM (
            SELECT id, name, window_start AS starttime, window_end AS endtime
            FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dt), INTERVAL '10' SECOND))
            GROUP BY id, name, window_start, window_end
        ) P
        JOIN (
            SELECT seller, window_start AS starttime, window_end AS endtime
            FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dt), INTERVAL '10' SECOND))
            GROUP BY seller, window_start, window_end
        ) A
        ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime"""),
    "q11": ("bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)", """
        SELECT B.bidder, COUNT(*), SESSION_START(B.dt, INTERVAL '10' SECOND), SESSION_END(B.dt, INTERVAL '10' SECOND)
        FROM bid B
        GROUP BY B.bidder, SESSION(B.dt, INTERVAL '10' SECOND)"""),
}

columns, select = QUERIES[query]
options = "'connector' = 'print', 'print-identifier' = 'result'" if sink == "print" else "'connector' = 'blackhole'"
env.execute_sql(f"CREATE TABLE results ({columns}) WITH ({options})")
env.execute_sql(f"INSERT INTO results {select}").wait()

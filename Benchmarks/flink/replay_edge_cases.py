"""A creator events file that reaches the corners of the replay job the generator's traffic
does not: events far behind the watermark (late, or joining a session that is still open),
sessions that close and reopen, duplicates about an hour apart, timestamps before 1970,
ids of every form (UUID and not, long, integers, booleans, upper case), CRLF line ends,
invalid lines, and no newline at the end. For checking that the hand-written floor
(`creator-replay-floor`) and `creator-analytics replay` at parallelism 1 agree line for
line; it is not realistic traffic. Deterministic: the same file every time.
"""
import json, random

START_MS = -3_600_000  # 1969-12-31T23:00:00Z: the first hour lies before the epoch.


def iso(ms, fraction_digits=3):
    """`ms` as an ISO 8601 UTC timestamp, with 0, 1, 3 or 9 fraction digits."""
    days, rest = divmod(ms, 86_400_000)
    # Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    text = f"{year:04d}-{month:02d}-{day:02d}T{rest // 3_600_000:02d}:{rest // 60_000 % 60:02d}:{rest // 1000 % 60:02d}"
    millis = rest % 1000
    if fraction_digits == 1:
        text += f".{millis // 100}"
    elif fraction_digits == 3:
        text += f".{millis:03d}"
    elif fraction_digits == 9:
        text += f".{millis:03d}000000"
    return text + "Z"


def lines(count=12_000, seed=11):
    rng = random.Random(seed)
    uuid = lambda: "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
                                                  rng.getrandbits(16), rng.getrandbits(48))
    # A small pool of visitors, so that sessions extend, close after 30 idle minutes and reopen.
    visitors = ([("user_id", f"u-{i}") for i in range(12)]
                + [("user_id", f"user-with-a-long-id-{i}") for i in range(4)]
                + [("user_id", i) for i in (7, 42)]
                + [("user_id", True)]
                + [("session_id", "s-" + uuid()) for _ in range(10)]
                + [("session_id", "s-" + uuid().upper()) for _ in range(3)]
                + [("session_id", f"s-short-{i}") for i in range(3)])
    posts = [(f"p-{i}", f"c-{i % 5}") for i in range(15)]
    names = ["post_viewed"] * 6 + ["user_logged_in", "comment_submitted", "creator_subscribed", "payment_succeeded",
                                   "user_registered", "post_published"]
    out, sent = [], []
    now = START_MS
    for n in range(count):
        # Time mostly advances a few seconds a line, with idle stretches of 20 to 50 minutes.
        now += rng.randint(200, 4000) if rng.random() > 0.004 else rng.randint(20, 50) * 60_000
        ts = now
        if n % 97 == 0:
            ts = now - 15 * 60_000  # behind the watermark: late unless it joins an open session
        elif n % 131 == 0:
            ts = now - 40 * 60_000
        elif n % 29 == 0:
            ts = now - rng.randint(0, 4000)  # within the out-of-orderness bound
        if n % 53 == 0 and len(sent) > 1500:
            # A duplicate of an event from about an hour earlier (just under, at, or over the TTL).
            out.append(sent[-rng.randint(900, 1500)])
            continue
        if n % 211 == 0:
            out.append(rng.choice(["not json", "{\"event_id\":\"x\"}", "[1,2]",
                                   json.dumps({"event_id": uuid(), "event_name": "page_scrolled", "timestamp": iso(ts)}),
                                   json.dumps({"event_id": uuid(), "event_name": "post_viewed", "timestamp": "yesterday"})]))
            continue
        name = rng.choice(names)
        event = {"event_id": uuid() if n % 17 else f"evt-{n}", "event_name": name,
                 "timestamp": iso(ts, rng.choice([0, 1, 3, 3, 3, 9]))}
        field, visitor = rng.choice(visitors)
        event[field] = visitor
        if field == "user_id" and rng.random() < 0.5:
            event["session_id"] = "s-" + uuid()
        post, creator = rng.choice(posts)
        if name in ("post_viewed", "post_published", "comment_submitted"):
            event["post_id"] = post
        if name in ("post_viewed", "creator_subscribed", "payment_succeeded"):
            event["creator_id"] = creator
        if name in ("post_published", "comment_submitted", "payment_succeeded", "user_registered", "user_logged_in") \
                and "user_id" not in event:
            event["user_id"] = f"u-{rng.randint(0, 30)}"
        if name == "comment_submitted":
            event["comment_id"] = f"cm-{n}"
        if name == "creator_subscribed":
            event["subscriber_id"] = f"u-{rng.randint(0, 30)}"
        if name == "payment_succeeded":
            event["amount"] = 5
            event["currency"] = "USD"
        text = json.dumps(event, separators=(",", ":"))
        sent.append(text)
        out.append(text)
    return out


def write(path, count=12_000, seed=11):
    """Writes the file: some lines end in CRLF, and the last has no newline."""
    rows = lines(count, seed)
    with open(path, "w", newline="") as f:
        for i, row in enumerate(rows):
            f.write(row + ("" if i == len(rows) - 1 else "\r\n" if i % 7 == 0 else "\n"))
    return path

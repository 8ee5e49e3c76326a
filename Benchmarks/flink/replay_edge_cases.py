"""A creator events file that reaches the corners of the replay job that generated traffic
does not, for checking that the hand-written floor (`creator-replay-floor`) and
`creator-analytics replay` at parallelism 1 agree line for line and count for count. It is
not realistic traffic. Deterministic: the same file every time.

Time advances a fixed 250 ms a line (each event up to 4 s behind that, within the job's
5 s bound), from 1969-12-31T23:30Z, so the first watermarks fall before 1970. Runnel's
source advances the watermark every 4,096 lines (to the newest timestamp so far − 5,001 ms),
so the watermark at each of those lines is known here, and scripted events are placed
against it:
- a session that closes exactly at a watermark, followed by an event of its visitor at
  that watermark, which must start a new session rather than join the closed one;
- an event more than 30 minutes behind the watermark (late for a session of its own) that
  overlaps an open session of its visitor, which must join it;
- events of one visitor exactly 30 minutes apart (two sessions: windows are half-open);
- copies of events whose deduplication entry has just expired, expires exactly at the
  watermark, or has not yet expired.
Around them: visitors active 20 minutes of every hour (sessions close and reopen), ids of
every form (UUIDs and not, longer than 15 bytes, integers, booleans, upper case), CRLF
line ends, invalid lines, and no newline at the end.
"""
import json, random

START_MS = -1_800_000  # 1969-12-31T23:30:00Z
STEP_MS = 250
LINES_PER_WATERMARK = 4096
BOUND_MS = 5000
GAP_MS = 30 * 60_000
TTL_MS = 3_600_000


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
        if millis % 100:
            return iso(ms, 3)  # one digit cannot hold it
        text += f".{millis // 100}"
    elif fraction_digits == 3:
        text += f".{millis:03d}"
    elif fraction_digits == 9:
        text += f".{millis:03d}000000"
    elif millis:
        return iso(ms, 3)
    return text + "Z"


def base_ms(line):
    return START_MS + STEP_MS * line


def lines(count=21_000, seed=11):
    rng = random.Random(seed)
    uuid = lambda: "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
                                                  rng.getrandbits(16), rng.getrandbits(48))
    # Visitors of the background traffic; each is active 20 minutes of every hour.
    pool = ([("user_id", f"u-{i}") for i in range(12)]
            + [("user_id", f"user-with-a-long-id-{i}") for i in range(4)]
            + [("user_id", i) for i in (7, 42)]
            + [("user_id", True)]
            + [("session_id", "s-" + uuid()) for _ in range(10)]
            + [("session_id", "s-" + uuid().upper()) for _ in range(3)]
            + [("session_id", f"s-short-{i}") for i in range(3)])
    phases = [rng.randint(0, 59) * 60_000 for _ in pool]
    posts = [(f"p-{i}", f"c-{i % 5}") for i in range(15)]

    def event(ts, visitor, name, n, event_id=None):
        field, value = visitor
        e = {"event_id": event_id or (uuid() if n % 17 else f"evt-{n}"), "event_name": name,
             "timestamp": iso(ts, rng.choice([0, 1, 3, 3, 3, 9]))}
        e[field] = value
        if field == "user_id" and rng.random() < 0.5:
            e["session_id"] = "s-" + uuid()
        post, creator = rng.choice(posts)
        if name in ("post_viewed", "post_published", "comment_submitted"):
            e["post_id"] = post
        if name in ("post_viewed", "creator_subscribed", "payment_succeeded"):
            e["creator_id"] = creator
        if name in ("post_published", "comment_submitted", "payment_succeeded", "user_registered", "user_logged_in") \
                and "user_id" not in e:
            e["user_id"] = f"u-{rng.randint(0, 30)}"
        if name == "comment_submitted":
            e["comment_id"] = f"cm-{n}"
        if name == "creator_subscribed":
            e["subscriber_id"] = f"u-{rng.randint(0, 30)}"
        if name == "payment_succeeded":
            e["amount"] = 5
            e["currency"] = "USD"
        return json.dumps(e, separators=(",", ":"))

    names = ["post_viewed"] * 6 + ["user_logged_in", "comment_submitted", "creator_subscribed", "payment_succeeded",
                                   "user_registered", "post_published"]
    rows = [None] * count  # (text, timestamp or None for an invalid line)
    # Background traffic: every line, up to 4 s behind the line's time, except the last line
    # before each watermark, exactly on time (so the watermarks are known).
    for n in range(count):
        now = base_ms(n)
        if n % 211 == 5:
            rows[n] = (rng.choice(["not json", "{\"event_id\":\"x\"}", "[1,2]",
                                   json.dumps({"event_id": uuid(), "event_name": "page_scrolled", "timestamp": iso(now)}),
                                   json.dumps({"event_id": uuid(), "event_name": "post_viewed", "timestamp": "yesterday"})]),
                       None)
            continue
        if (n + 1) % LINES_PER_WATERMARK == 0:
            ts = now
        elif n % 97 == 0:
            ts = now - 15 * 60_000  # behind the watermark: late for a post view, not for a session
        elif n % 131 == 0:
            ts = now - 40 * 60_000  # late for a session of its own too
        else:
            ts = now - rng.randint(0, 4000)
        active = [v for v, phase in zip(pool, phases) if (ts - phase) % 3_600_000 < 20 * 60_000] or pool
        rows[n] = (event(ts, rng.choice(active), rng.choice(names), n), ts)

    def watermark_at(boundary):
        """The watermark Runnel's source emits after line `boundary` − 1 (a multiple of 4096)."""
        newest = max(ts for _, ts in rows[:boundary] if ts is not None)
        return newest - BOUND_MS - 1

    def place(line, ts, visitor, name, event_id=None):
        assert ts <= base_ms(line), "a scripted event must not move the watermark"
        rows[line] = (event(ts, visitor, name, line, event_id), ts)

    # A session that closes exactly at the second watermark; then its visitor's next event,
    # at that watermark, starts a new session.
    closing = ("user_id", "u-closes-at-the-watermark")
    w2 = watermark_at(2 * LINES_PER_WATERMARK)
    first = w2 - GAP_MS + 1
    place(next(n for n in range(count) if base_ms(n) >= first + 1000), first, closing, "user_logged_in")
    place(2 * LINES_PER_WATERMARK + 10, w2, closing, "user_logged_in")
    # The same in the middle of a minute and of a second after the third watermark.
    closing2 = ("session_id", "s-" + uuid())
    w3 = watermark_at(3 * LINES_PER_WATERMARK)
    first2 = w3 - GAP_MS + 1
    place(next(n for n in range(count) if base_ms(n) >= first2 + 1000), first2, closing2, "post_viewed")
    place(3 * LINES_PER_WATERMARK + 3, w3 - 500, closing2, "creator_subscribed")
    # A visitor active throughout; after the fourth watermark, one of its events 35 minutes
    # behind (its own window already closed) overlaps its open session and joins it.
    steady = ("user_id", "u-steady")
    for n in range(100, 4 * LINES_PER_WATERMARK, 400):
        place(n, base_ms(n) - 100, steady, "user_logged_in")
    w4 = watermark_at(4 * LINES_PER_WATERMARK)
    place(4 * LINES_PER_WATERMARK + 7, w4 - 35 * 60_000, steady, "user_logged_in")
    # Two events exactly 30 minutes apart: two sessions.
    apart = ("user_id", "u-exactly-a-gap-apart")
    place(1000, base_ms(1000) - 50, apart, "user_logged_in")
    place(1000 + GAP_MS // STEP_MS, base_ms(1000) - 50 + GAP_MS, apart, "user_logged_in")
    # Copies of events after the fifth watermark: entries that expired before it, exactly at
    # it, and a second after it (the last is still remembered: a duplicate).
    w5 = watermark_at(5 * LINES_PER_WATERMARK) if count > 5 * LINES_PER_WATERMARK else None
    if w5 is not None:
        for k, offset in enumerate((-1000, 0, 1000)):
            ts = w5 - TTL_MS + offset
            line = next(n for n in range(count) if base_ms(n) >= ts + 1000)
            event_id = uuid()
            place(line, ts, ("user_id", f"u-ttl-{k}"), "user_logged_in", event_id)
            rows[5 * LINES_PER_WATERMARK + 20 + k] = rows[line]
    # The scripted events must have left every watermark where it was planned.
    assert watermark_at(2 * LINES_PER_WATERMARK) == w2 and watermark_at(3 * LINES_PER_WATERMARK) == w3
    assert watermark_at(4 * LINES_PER_WATERMARK) == w4 and (w5 is None or watermark_at(5 * LINES_PER_WATERMARK) == w5)
    return [text for text, _ in rows]


def write(path, count=21_000, seed=11):
    """Writes the file: some lines end in CRLF, and the last has no newline."""
    rows = lines(count, seed)
    with open(path, "w", newline="") as f:
        for i, row in enumerate(rows):
            f.write(row + ("" if i == len(rows) - 1 else "\r\n" if i % 7 == 0 else "\n"))
    return path

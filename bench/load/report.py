"""The load section of docs/performance.md, from a ``bench.load.run.Result``."""

from __future__ import annotations

import math
import textwrap

from bench.load.run import (
    MEASURE_SECONDS,
    PROBE_EVERY,
    PROBE_POLL,
    ROUTES,
    USER_RATE,
    Level,
    Result,
    percentile,
)
from shop.dependencies import ATTEMPTS, READ_TIMEOUT

PLOT = "performance-load.png"
#: A level is saturated once the stack delivers less than this share of the offered rate.
DELIVERED = 0.9
PARTS = ("moto", "stack", "workers")
#: moto at this share of a core is at its ceiling (one request at a time, one core at most).
MOTO_BOUND = 0.85
#: the machine counts as busy from this share of its cores ...
BUSY = 0.95
#: ... and the stack as starved when its processes got less than this share of them.
STARVED = 0.6
#: The page calls the machine shared when other processes used more than this share of its cores.
SHARED = 0.25
NONE = "-"
#: Failure messages are cut to this many characters.
ERROR_WIDTH = 110


def _ms(value: float) -> str:
    return NONE if math.isnan(value) else f"{value:.0f}"


def _triple(p50: float, p95: float, p99: float) -> str:
    return f"{_ms(p50)} / {_ms(p95)} / {_ms(p99)}"


def other_cores(level: Level) -> float:
    """Cores the machine spent on processes other than the stack and locust during a level."""
    machine = level.cpu.get("machine", math.nan)
    if math.isnan(machine):
        return 0.0
    ours = sum(level.cpu.get(part, 0.0) for part in PARTS) + level.cpu.get("locust", 0.0)
    return max(0.0, machine - ours)


def cpu_per_request(level: Level) -> dict[str, float]:
    """CPU milliseconds per request of each part, its background work (stream polling) included."""
    rate = level.total.rps
    if not rate or math.isnan(rate):
        return dict.fromkeys(PARTS, math.nan)
    return {part: level.cpu.get(part, 0.0) / rate * 1000 for part in PARTS}


def bottleneck(level: Level, cores: int) -> str:
    """What held a level back, from its CPU figures: the neighbours, moto's lock, or the CPU."""
    stack = sum(level.cpu.get(part, 0.0) for part in PARTS)
    machine = level.cpu.get("machine", math.nan)
    if level.cpu.get("moto", 0.0) >= MOTO_BOUND:
        return (
            f"moto's lock: the moto server used {level.cpu['moto']:.2f} of the one core it can use, the"
            f" stack's processes {stack:.2f} cores in all"
        )
    if machine >= BUSY * cores and stack < STARVED * cores:
        return (
            f"the CPU the stack got: the machine was busy ({machine:.2f} of {cores} cores) but the stack's"
            f" processes got {stack:.2f} cores in all, moto {level.cpu.get('moto', 0.0):.2f}; the other jobs"
            " on the machine took the rest, and every request waited for its three processes to be scheduled"
        )
    if machine >= BUSY * cores:
        return (
            f"the CPU: the stack's processes used {stack:.2f} of {cores} cores (moto"
            f" {level.cpu.get('moto', 0.0):.2f}, workers {level.cpu.get('workers', 0.0):.2f})"
        )
    return f"not the CPU ({machine:.2f} of {cores} cores busy): waits, for a free worker or moto's lock"


def _short(level: Level) -> bool:
    return level.total.rps < DELIVERED * level.offered


def saturated(result: Result) -> Level | None:
    """The level from which on the stack delivered less than DELIVERED of the offered rate at every
    level: a lower level that fell short while a higher one kept up had a spell of the neighbours'
    load, not the stack's ceiling."""
    knee = None
    for level in reversed(result.levels):
        if not _short(level):
            break
        knee = level
    return knee


def _level_table(result: Result) -> list[str]:
    columns = [
        "Level",
        "Offered req/s",
        "Achieved req/s",
        "p50 / p95 / p99 ms",
        "Failures",
        "Lag p50 / p95 ms (n)",
        "CPU moto / stack / workers / locust (cores)",
        "Machine busy (cores)",
        "Load avg (1 min)",
    ]
    rows = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for lv in result.levels:
        lag = lv.lag_ms
        lag_text = f"{_ms(percentile(lag, 0.5))} / {_ms(percentile(lag, 0.95))} ({len(lag)})"
        if lv.probe_failures:
            lag_text += f", {lv.probe_failures} failed"
        cpu = " / ".join(f"{lv.cpu.get(part, 0.0):.2f}" for part in (*PARTS, "locust"))
        rows.append(
            f"| {lv.multiplier}x | {lv.offered:g} | {lv.total.rps:.1f} "
            f"| {_triple(lv.total.p50, lv.total.p95, lv.total.p99)} "
            f"| {lv.total.failures} of {lv.total.requests} | {lag_text} | {cpu} "
            f"| {lv.cpu.get('machine', math.nan):.2f} of {result.cores} | {lv.load_average:.1f} |"
        )
    return rows


def _route_table(result: Result) -> list[str]:
    header = (
        "| Route | " + " | ".join(f"{lv.multiplier}x: p50 / p95 / p99 ms (n)" for lv in result.levels) + " |"
    )
    rows = [header, "|---|" + "---:|" * len(result.levels)]
    for route in ROUTES:
        cells = []
        for lv in result.levels:
            stats = lv.routes.get(route)
            if stats is None or not stats.requests:
                cells.append(NONE)
                continue
            failed = f", {stats.failures} failed" if stats.failures else ""
            cells.append(f"{_triple(stats.p50, stats.p95, stats.p99)} ({stats.requests}{failed})")
        rows.append(f"| `{route}` | " + " | ".join(cells) + " |")
    return rows


def _cpu_table(result: Result) -> list[str]:
    header = "| Level | moto ms | stack ms | workers ms | total ms | moto alone caps at | all parts on"
    rows = [f"{header} {result.cores} cores cap at |", "|---|---:|---:|---:|---:|---:|---:|"]
    idle = result.idle_cpu
    rows.append(
        "| idle (cores) | "
        + " | ".join(f"{idle.get(part, 0.0):.2f}" for part in PARTS)
        + f" | {sum(idle.get(part, 0.0) for part in PARTS):.2f} | | |"
    )
    for lv in result.levels:
        per = cpu_per_request(lv)
        total = sum(per.values())
        moto_cap = 1000 / per["moto"] if per["moto"] > 0 else math.inf
        all_cap = result.cores * 1000 / total if total > 0 else math.inf
        rows.append(
            f"| {lv.multiplier}x | "
            + " | ".join(_ms(per[part]) for part in PARTS)
            + f" | {_ms(total)} | {moto_cap:.0f} req/s | {all_cap:.0f} req/s |"
        )
    return rows


def _errors(result: Result) -> list[str]:
    lines = []
    for lv in result.levels:
        for error, count in sorted(lv.errors.items(), key=lambda item: -item[1])[:3]:
            shown = error if len(error) <= ERROR_WIDTH else error[: ERROR_WIDTH - 3] + "..."
            lines.append(f"- {lv.multiplier}x: {count} x {shown}")
    if not lines:
        return ["No request failed at any level."]
    if any("500" in error for lv in result.levels for error in lv.errors):
        lines += [
            "",
            _fill(
                """A 500 `{"message":"Internal Server Error"}` is what API Gateway answers when the
                function itself failed or ran past its `Timeout` (`local/stack/stack.py` answers it as
                an HTTP API does)."""
            ),
        ]
    if any("503" in error for lv in result.levels for error in lv.errors):
        lines += [
            "",
            _fill(
                f"""A 503 is the handler's own answer when DynamoDB does not answer in time (a
                `dependency-unavailable` problem with `Retry-After`): `shop/dependencies.py` gives each
                call {READ_TIMEOUT:g} s to read and {ATTEMPTS} attempts, and moto, short of CPU or queued
                behind its lock, took longer. In AWS the same answer would mean throttling or an outage."""
            ),
        ]
    return lines


def _fill(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 100)


def report(result: Result) -> str:
    first, last = result.levels[0], result.levels[-1]
    knee = saturated(result)
    busiest = ", ".join(f"{name} {share:.2f}" for name, share in list(last.functions.items())[:3])
    loads = ", ".join(f"{lv.load_average:.1f}" for lv in result.levels)
    top = cpu_per_request(last)
    moto_cap = 1000 / top["moto"] if top["moto"] > 0 else math.inf
    all_cap = result.cores * 1000 / sum(top.values()) if sum(top.values()) > 0 else math.inf
    first_limit = "moto's one core" if moto_cap <= all_cap else f"all {result.cores} cores"
    alone = (
        f"Alone on this machine, the CPU per request measured at {last.multiplier}x"
        f" ({_ms(sum(top.values()))} ms in all, moto {_ms(top['moto'])} ms) would fill {first_limit} first,"
        f" near {min(moto_cap, all_cap):.0f} requests/s: an estimate from CPU time, not a measurement."
    )
    below = result.levels if knee is None else result.levels[: result.levels.index(knee)]
    spells = [f"{lv.multiplier}x" for lv in below if _short(lv)]
    spell = (
        f" {', '.join(spells)} fell short too, though a higher level kept up: a spell of the other jobs'"
        " load, not the stack's ceiling."
        if spells
        else ""
    )
    if knee is None:
        where = (
            f"Where it saturates: not within these levels; the stack delivered at least {DELIVERED:.0%} of"
            f" the offered rate at {last.multiplier}x, its p95 {_ms(last.total.p95)} ms against"
            f" {_ms(first.total.p95)} ms at 1x.{spell} At {last.multiplier}x the limit was"
            f" {bottleneck(last, result.cores)}."
        )
    else:
        beyond = (
            f"; at {last.multiplier}x it delivered {last.total.rps:.1f} of {last.offered:g}"
            if knee is not last
            else ""
        )
        where = (
            f"Where it saturates: at {knee.multiplier}x, offered {knee.offered:g} requests/s, it delivered"
            f" {knee.total.rps:.1f} (users wait for their answers, so the shortfall is the queue), p95"
            f" {_ms(knee.total.p95)} ms{beyond}.{spell} The limit was {bottleneck(knee, result.cores)}."
        )
    where = f"{where} {alone}"
    about = f"""
        locust (`bench/load/locustfile.py`, headless, from `.venv-bench`) against `make run`'s stack
        started by `bench/load/run.py`: the demo seed plus {result.products}
        products to browse, default settings (stream poll interval {result.poll_interval * 1000:.0f} ms, up to
        {result.concurrency} worker processes per function). The mix, in requests: 90 % reads (a product page
        70 %, a product list 18 %, a cart 1 %, an order 1 %) and 10 % writes, each the next step of a
        customer's purchase (open a cart, add two lines, check out; the customers' own tokens, as `make
        run` prints them). Users run at a constant {USER_RATE:g} requests/s each, so the offered rate is
        fixed; 1x = {result.base_rate:g} requests/s. Each level is measured for {MEASURE_SECONDS} s once all
        its users run, after a warm-up. Projection lag: every {PROBE_EVERY:g} s during a level a price
        change, then the Query API polled every {PROBE_POLL * 1000:.0f} ms until it shows the new version.
        CPU: the processes' utime + stime from `/proc/<pid>/stat` over the level, in cores (1.00 = one
        core busy).
        """
    others = max(other_cores(level) for level in result.levels)
    machine = (
        f"""
        The machine was shared with other jobs while this ran: load average (1 min) {loads} at the end of
        the levels, on {result.cores} cores, and "Machine busy" counts every process on it (the others up
        to {others:.2f} cores). The stack competed for the CPU, so latencies here are pessimistic; the
        CPU milliseconds per request below depend less on the neighbours.
        """
        if others > SHARED * result.cores
        else f"""
        Load average (1 min) {loads} at the end of the levels, on {result.cores} cores, the stack and
        locust included; "Machine busy" counts every process on it, and processes other than the stack
        and locust used at most {others:.2f} cores during a level.
        """
    )
    why = f"""
        Why it saturates here: every request crosses three Python processes (the API Gateway emulation and
        stream pollers in the stack process, a worker process per invocation, and the moto server), on
        {result.cores} cores. moto serves one request at a time under one lock (`local/aws/endpoint.py`),
        so it can never use more than one core, whatever the number of workers; each request also makes
        it parse and serialise the DynamoDB JSON in Python, and a query on an index (a product list) walks
        every item of the table in Python. Workers are capped at {result.concurrency} per function and a
        request waits for a free one. The stream pollers read every stream every
        {result.poll_interval * 1000:.0f} ms even when idle (the "idle" row), and the projectors and
        policies compete with the request path for the same cores and the same moto lock, which is why
        projection lag grows with load: at {last.multiplier}x the busiest workers were {busiest} (cores).
        """
    aws = """
        What this means for AWS: nothing about its capacity. DynamoDB spreads a table over partitions
        (each serves up to 3,000 RCU and 1,000 WCU, on-demand tables adapt to twice their previous peak
        at once and split partitions further), with no lock shared between requests; a Lambda function
        scales by running more execution environments (up to the account's concurrency, 1,000 by
        default, growing by 1,000 every 10 s per function), each with its own CPU; an HTTP API throttles
        at 10,000 requests/s per account and Region by default (burst 5,000); DynamoDB Streams are read
        by up to as many concurrent Lambda invocations as there are shards (more with
        ParallelizationFactor), and lag there is about the poll and batching window, not CPU. So the
        local ceiling is the laptop's, set by moto's lock and Python processes on two cores; what
        carries over is the shape: the per-request work (requests per operation, docs/architecture.md),
        the mix's read-to-write ratio, and that projection lag is the stream consumer's delay plus its
        work, which grows when consumers fall behind. On AWS the limits to watch are different ones:
        a hot product's partition (1,000 WCU per partition key per second, here the stock stream of a
        best-seller), reserved concurrency of the consumers, the API's throttles, and the cost per request
        (the cost section).
        """
    return "\n".join(
        [
            _fill(about),
            "",
            _fill(machine),
            "",
            f"![Latency and projection lag against offered load]({PLOT})",
            "",
            *_level_table(result),
            "",
            "Per route, response time and the number of requests:",
            "",
            *_route_table(result),
            "",
            "CPU milliseconds per request of each part (its background work included: the idle row, in",
            "cores, is what the stream pollers use with no request at all), and the rate at which that",
            "CPU would fill what the part can use: moto one core (its lock), all parts every core. The",
            "highest level's row is the one to read: at low rates the background dominates.",
            "",
            *_cpu_table(result),
            "",
            "Failures (the most frequent, per level):",
            "",
            *_errors(result),
            "",
            _fill(where),
            "",
            _fill(why),
            "",
            _fill(aws),
        ]
    )

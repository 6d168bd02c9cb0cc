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

PLOT = "performance-load.png"
#: A level is saturated once the stack delivers less than this share of the offered rate.
DELIVERED = 0.9
PARTS = ("moto", "stack", "workers")
NONE = "-"


def _ms(value: float) -> str:
    return NONE if math.isnan(value) else f"{value:.0f}"


def _triple(p50: float, p95: float, p99: float) -> str:
    return f"{_ms(p50)} / {_ms(p95)} / {_ms(p99)}"


def cpu_per_request(level: Level, idle: dict[str, float]) -> dict[str, float]:
    """CPU milliseconds per request of each part, above what it burns with no load at all."""
    rate = level.total.rps
    if not rate or math.isnan(rate):
        return dict.fromkeys(PARTS, math.nan)
    return {part: max(0.0, level.cpu.get(part, 0.0) - idle.get(part, 0.0)) / rate * 1000 for part in PARTS}


def saturated(result: Result) -> Level | None:
    """The first level at which the stack delivered less than DELIVERED of the offered rate."""
    return next((lv for lv in result.levels if lv.total.rps < DELIVERED * lv.offered), None)


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
        per = cpu_per_request(lv, idle)
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
            lines.append(f"- {lv.multiplier}x: {count} x {error}")
    return lines or ["No request failed at any level."]


def _fill(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 100)


def report(result: Result) -> str:
    first, last = result.levels[0], result.levels[-1]
    knee = saturated(result)
    busiest = ", ".join(f"{name} {share:.2f}" for name, share in list(last.functions.items())[:3])
    loads = ", ".join(f"{lv.load_average:.1f}" for lv in result.levels)
    if knee is None:
        where = (
            f"At every level the stack delivered at least {DELIVERED:.0%} of the offered rate; the p95 grew"
            f" from {_ms(first.total.p95)} ms at 1x to {_ms(last.total.p95)} ms at {last.multiplier}x."
        )
    else:
        where = (
            f"The stack stops keeping up at {knee.multiplier}x: offered {knee.offered:g} requests/s, it"
            f" delivered {knee.total.rps:.1f} (users wait for their answers, so the shortfall is the queue),"
            f" with a p95 of {_ms(knee.total.p95)} ms against {_ms(first.total.p95)} ms at 1x."
        )
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
    machine = f"""
        The machine was shared with other jobs while this ran: load average (1 min) {loads} at the end of
        the levels, on {result.cores} cores, and "Machine busy" counts every process on it. The stack
        competed for the CPU, so latencies here are pessimistic; the CPU milliseconds per request below
        depend less on the neighbours.
        """
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
            "CPU per request of each part, above what it uses with no load (the idle row, in cores), and",
            "the rate at which that part alone would fill its share: moto one core (its lock), all parts",
            "every core.",
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

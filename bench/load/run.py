"""Load on the local stack: locust at 1x, 2x, 5x and 10x a base rate, with projection lag and CPU.

The stack is `make run`'s (``python -m local`` with the demo seed, default poll interval and worker
pool), started on free ports with a temporary STATE_DIR. Before the levels: stocked products to buy,
a few carts and orders to read, and a warm-up at the base rate (every worker imported). Then, per
level, locust (headless, from ``.venv-bench``) runs ``locustfile.py`` at a constant offered rate;
meanwhile a probe changes a product's price every ``PROBE_EVERY`` s and polls the Query API until
it shows (projection lag), and the CPU time of every process of the stack is read from /proc.

This module runs in ``.venv`` (it starts the stack); locust and matplotlib run in ``.venv-bench``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from local import ROOT
from local.stack.client import call
from local.stack.process import StackProcess, start
from local.stack.run import Settings

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
#: The bench venv (locust, matplotlib); ``make bench`` creates it.
BENCH_VENV = ROOT / os.environ.get("BENCH_VENV", ".venv-bench")
BASE_RATE = float(os.environ.get("LOAD_BASE_RATE", "5"))  # requests per second at 1x
MULTIPLIERS = (1, 2, 5, 10)
MEASURE_SECONDS = int(os.environ.get("LOAD_SECONDS", "45"))  # per level, after the users are spawned
SPAWN_SECONDS = 3
WARM_UP_SECONDS = 10
IDLE_SECONDS = 10
USER_RATE = 0.5  # tasks per second per locust user: users = offered rate / USER_RATE
PRODUCTS = 12  # stocked products to buy, besides the demo seed's
STOCK = 100_000
PROBE_EVERY = 2.0
PROBE_POLL = 0.05
#: The routes in the order of the tables, as the locustfile names them.
ROUTES = [
    "GET /products/{id}",
    "GET /products",
    "GET /products?category",
    "GET /carts/{id}",
    "GET /orders/{id}",
    "POST /carts",
    "POST /carts/{id}/items",
    "POST /carts/{id}/checkout",
]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class RouteStats:
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Level:
    multiplier: int
    offered: float
    users: int
    seconds: float
    routes: dict[str, RouteStats]
    total: RouteStats
    lag_ms: list[float]
    probe_failures: int
    #: share of one core over the level, per part of the stack (and locust, and the whole machine)
    cpu: dict[str, float]
    #: worker CPU per function, share of one core
    functions: dict[str, float]
    load_average: float
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Result:
    base_rate: float
    levels: list[Level]
    #: share of one core per role with no load at all (the stream pollers' reads, mostly)
    idle_cpu: dict[str, float]
    cores: int
    poll_interval: float
    concurrency: int
    products: int


# ---- pure parts (tested in tests/unit/test_bench_load.py) ----


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` in 0..1); NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _number(text: str) -> float:
    return float(text) if text not in ("", "N/A") else math.nan


def parse_stats(text: str) -> tuple[dict[str, RouteStats], RouteStats]:
    """Locust's ``<prefix>_stats.csv``: the stats per route name, and the aggregated row."""
    routes: dict[str, RouteStats] = {}
    total = RouteStats(0, 0, 0.0, math.nan, math.nan, math.nan)
    for row in csv.DictReader(text.splitlines()):
        stats = RouteStats(
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=_number(row["Requests/s"]),
            p50=_number(row["50%"]),
            p95=_number(row["95%"]),
            p99=_number(row["99%"]),
        )
        if row["Name"] == "Aggregated":
            total = stats
        else:
            routes[row["Name"]] = stats
    return routes, total


def parse_failures(text: str) -> dict[str, int]:
    """Locust's ``<prefix>_failures.csv``: occurrences per "route: error"."""
    return {
        f"{row['Name']}: {row['Error']}": int(row["Occurrences"]) for row in csv.DictReader(text.splitlines())
    }


def cpu_ticks(stat: str) -> int:
    """utime + stime of a ``/proc/<pid>/stat`` line (fields 14 and 15, counted after the command)."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def role(cmdline: list[str]) -> str:
    """Which part of the stack a process of it is, from its command line."""
    if "local.aws.endpoint" in cmdline:
        return "moto"
    if "local.stack.worker" in cmdline:
        return "worker:" + cmdline[cmdline.index("--function") + 1]
    return "stack"


def busy_ticks(proc_stat: str) -> tuple[int, int]:
    """(busy, total) jiffies of all cores from ``/proc/stat``'s first line."""
    values = [int(v) for v in proc_stat.splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which user time already counts
    return total - idle, total


# ---- measuring ----


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


class CpuMeter:
    """CPU ticks of the stack's processes (by role), of locust and of the whole machine, between
    ``begin`` and ``end``. A process that starts in between counts from zero."""

    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack

    def snapshot(self, extra: dict[str, int]) -> tuple[float, dict[int, tuple[str, int]], tuple[int, int]]:
        processes: dict[int, tuple[str, int]] = {}
        pids = {self.stack.process.pid: None, **dict.fromkeys(self.stack.descendants())}
        names = {pid: name for name, pid in extra.items()}
        for pid in [*pids, *names]:
            stat = _read(f"/proc/{pid}/stat")
            cmdline = _read(f"/proc/{pid}/cmdline")
            if stat is None or cmdline is None:
                continue
            processes[pid] = (names.get(pid) or role(cmdline.split("\0")), cpu_ticks(stat))
        machine = busy_ticks(Path("/proc/stat").read_text())
        return time.monotonic(), processes, machine

    @staticmethod
    def shares(
        first: tuple[float, dict[int, tuple[str, int]], tuple[int, int]],
        last: tuple[float, dict[int, tuple[str, int]], tuple[int, int]],
    ) -> dict[str, float]:
        """Share of one core per role over the interval; "machine": every process on every core."""
        seconds = last[0] - first[0]
        used: dict[str, float] = {}
        for pid, (name, ticks) in last[1].items():
            before = first[1].get(pid, (name, 0))[1]
            used[name] = used.get(name, 0.0) + (ticks - before) / CLOCK_TICKS / seconds
        busy = last[2][0] - first[2][0]
        total = last[2][1] - first[2][1]
        used["machine"] = busy / total * (os.cpu_count() or 1) if total else math.nan
        return used


class LagProbe(threading.Thread):
    """Every PROBE_EVERY s: change the probe product's price, then poll the Query API until it shows."""

    def __init__(self, stack: StackProcess, product: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.product = stack, product
        self.stopping = threading.Event()
        self.lags: list[float] = []
        self.failures = 0
        self.amount = 1000

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.probe()
            except Exception:
                self.failures += 1
            self.stopping.wait(max(0.0, PROBE_EVERY - (time.monotonic() - started)))

    def probe(self) -> None:
        self.amount += 1
        reply = call(
            "PUT",
            f"{self.stack.command}/products/{self.product}/price",
            {"amount": self.amount, "currency": "EUR"},
            token=self.stack.tokens["admin"],
        )
        if reply.status != 200:
            raise RuntimeError(reply.body)
        answered, version = time.monotonic(), reply.json()["version"]
        while call("GET", f"{self.stack.query}/products/{self.product}").json()["version"] < version:
            if time.monotonic() - answered > 60:
                raise TimeoutError(self.product)
            time.sleep(PROBE_POLL)
        self.lags.append((time.monotonic() - answered) * 1000)


@dataclass
class Catalog:
    stocked: list[str]
    browsed: list[str]
    categories: list[str]
    probe: str
    carts: list[str]
    orders: list[str]


def _create_product(stack: StackProcess, name: str, category: str, units: int) -> str:
    body = {
        "sku": f"LOAD-{uuid.uuid4().hex[:10]}",
        "name": name,
        "category": category,
        "price": {"amount": 990, "currency": "EUR"},
    }
    reply = call("POST", f"{stack.command}/products", body, token=stack.tokens["admin"])
    if reply.status != 201:
        raise RuntimeError(f"creating a product: {reply.status} {reply.body!r}")
    product = str(reply.json()["productId"])
    if units:
        stocked = call(
            "POST",
            f"{stack.command}/products/{product}/stock",
            {"quantity": units},
            token=stack.tokens["admin"],
        )
        if stocked.status != 200:
            raise RuntimeError(f"stocking a product: {stocked.status} {stocked.body!r}")
    return product


def _wait_until_listed(stack: StackProcess, products: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for product in products:
        while call("GET", f"{stack.query}/products/{product}").status != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"product {product} not projected within {timeout} s")
            time.sleep(0.1)


def prepare(stack: StackProcess, customers: list[str]) -> Catalog:
    """Stocked products, a probe product, and one purchase per customer (a cart and an order to read)."""
    categories = [f"load-{letter}" for letter in "abcd"]
    with ThreadPoolExecutor(Settings.concurrency) as pool:
        stocked = list(
            pool.map(
                lambda index: _create_product(
                    stack, f"Load product {index}", categories[index % len(categories)], STOCK
                ),
                range(PRODUCTS),
            )
        )
    probe = _create_product(stack, "Load probe", "load-probe", 0)
    _wait_until_listed(stack, [*stocked, probe])
    seeded = [
        str(item["productId"]) for item in call("GET", f"{stack.query}/products?limit=100").json()["items"]
    ]
    carts, orders = [], []
    for user in customers:
        token = stack.tokens[user]
        cart = str(call("POST", f"{stack.command}/carts", {}, token=token).json()["cartId"])
        added = call(
            "POST",
            f"{stack.command}/carts/{cart}/items",
            {"productId": stocked[0], "quantity": 1},
            token=token,
        )
        checkout = call("POST", f"{stack.command}/carts/{cart}/checkout", token=token)
        if added.status != 200 or checkout.status != 202:
            raise RuntimeError(f"a purchase failed: {added.status} {checkout.status} {checkout.body!r}")
        carts.append(cart)
        orders.append(str(checkout.json()["orderId"]))
    for user, cart, order in zip(customers, carts, orders, strict=True):
        for path in (f"/carts/{cart}", f"/orders/{order}"):
            deadline = time.monotonic() + 60
            while call("GET", f"{stack.query}{path}", token=stack.tokens[user]).status != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} not projected within 60 s")
                time.sleep(0.1)
    browsed = sorted(set(seeded) - {probe} | set(stocked))
    seed_categories = sorted({p[2] for p in _demo_products()})
    return Catalog(stocked, browsed, categories + seed_categories, probe, carts, orders)


def _demo_products() -> list[tuple[str, str, str, int, int, str]]:
    from local.demo.seed import DEMO_PRODUCTS  # noqa: PLC0415

    return DEMO_PRODUCTS


def warm_workers(stack: StackProcess, catalog: Catalog, rounds: int = 2) -> None:
    """Start every worker the mix can use before measuring: ``Settings.concurrency`` requests at once
    to each function on the request path (requests that change nothing), twice. A worker starts on
    demand and imports its handler first, which under load takes seconds: a level would measure that."""
    unknown = str(uuid.uuid4())
    admin = stack.tokens["admin"]
    requests = [
        ("GET", f"{stack.query}/products/{catalog.stocked[0]}"),  # CatalogQueries
        ("GET", f"{stack.query}/carts/{unknown}"),  # CartQueries
        ("GET", f"{stack.query}/orders/{unknown}"),  # OrderQueries
        ("POST", f"{stack.command}/carts/{unknown}/checkout"),  # CartCommands
        ("POST", f"{stack.command}/products/{unknown}/discontinue"),  # CatalogCommands (the probe)
    ]
    work = [request for request in requests for _ in range(Settings.concurrency)]
    with ThreadPoolExecutor(len(work)) as pool:
        for _ in range(rounds):
            list(pool.map(lambda r: call(r[0], r[1], token=admin, timeout=300), work))


def locust_environment(stack: StackProcess, catalog: Catalog, customers: list[str]) -> dict[str, str]:
    owners = list(range(len(customers)))
    return {
        **os.environ,
        "LOAD_COMMAND_URL": stack.command,
        "LOAD_TOKENS": ",".join(stack.tokens[user] for user in customers),
        "LOAD_PRODUCTS": ",".join(catalog.browsed),
        "LOAD_STOCKED": ",".join(catalog.stocked),
        "LOAD_CATEGORIES": ",".join(catalog.categories),
        "LOAD_CARTS": ",".join(f"{o}:{c}" for o, c in zip(owners, catalog.carts, strict=True)),
        "LOAD_ORDERS": ",".join(f"{o}:{c}" for o, c in zip(owners, catalog.orders, strict=True)),
        "LOAD_USER_RATE": str(USER_RATE),
    }


@dataclass
class LocustRun:
    process: subprocess.Popen[str]
    users: int
    #: set once every user is spawned (when ``--reset-stats`` starts the measured window), or at exit
    spawned: threading.Event
    log: list[str]


def run_locust(
    stack: StackProcess, environment: dict[str, str], rate: float, seconds: int, prefix: Path
) -> LocustRun:
    """Start locust at ``rate`` requests per second (``seconds`` once every user is spawned)."""
    users = max(1, math.ceil(rate / USER_RATE))
    locust = BENCH_VENV / "bin" / "locust"
    if not locust.exists():
        raise RuntimeError(f"{locust} is missing: `make bench` (or `make load`) creates {BENCH_VENV.name}")
    process = subprocess.Popen(
        [
            str(locust),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--only-summary",
            "--reset-stats",
            "--host",
            stack.query,
            "-u",
            str(users),
            "-r",
            str(max(1.0, users / SPAWN_SECONDS)),
            "-t",
            f"{SPAWN_SECONDS + seconds}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--loglevel",
            "INFO",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    spawned = threading.Event()
    log: list[str] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if "All users spawned" in line:
                spawned.set()
        spawned.set()  # exited: let the caller go on

    threading.Thread(target=watch, daemon=True).start()
    return LocustRun(process, users, spawned, log)


def run_level(
    stack: StackProcess, environment: dict[str, str], catalog: Catalog, multiplier: int, directory: Path
) -> Level:
    rate = BASE_RATE * multiplier
    prefix = directory / f"level-{multiplier}x"
    meter = CpuMeter(stack)
    locust = run_locust(stack, environment, rate, MEASURE_SECONDS, prefix)
    process = locust.process
    locust.spawned.wait(timeout=120)
    first = meter.snapshot({"locust": process.pid})
    probe = LagProbe(stack, catalog.probe)
    probe.start()
    last = first
    while process.poll() is None:  # the last snapshot before locust stops (it then exits at once)
        time.sleep(1)
        if process.poll() is None:
            last = meter.snapshot({"locust": process.pid})
    probe.stopping.set()
    probe.join(timeout=90)
    load_average = os.getloadavg()[0]
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError("locust wrote no statistics:\n" + "".join(locust.log[-30:]))
    routes, total = parse_stats(stats.read_text())
    failures = Path(f"{prefix}_failures.csv")
    shares = CpuMeter.shares(first, last)
    functions = {name.removeprefix("worker:"): v for name, v in shares.items() if name.startswith("worker:")}
    cpu = {name: v for name, v in shares.items() if not name.startswith("worker:")}
    cpu["workers"] = sum(functions.values())
    return Level(
        multiplier=multiplier,
        offered=rate,
        users=locust.users,
        seconds=last[0] - first[0],
        routes=routes,
        total=total,
        lag_ms=probe.lags,
        probe_failures=probe.failures,
        cpu=cpu,
        functions=dict(sorted(functions.items(), key=lambda item: -item[1])),
        load_average=load_average,
        errors=parse_failures(failures.read_text()) if failures.exists() else {},
    )


def measure_idle(stack: StackProcess, seconds: float = IDLE_SECONDS) -> dict[str, float]:
    """CPU of the stack's parts with no requests: what its stream pollers cost on their own."""
    meter = CpuMeter(stack)
    first = meter.snapshot({})
    time.sleep(seconds)
    shares = CpuMeter.shares(first, meter.snapshot({}))
    workers = sum(v for name, v in shares.items() if name.startswith("worker:"))
    return {**{n: v for n, v in shares.items() if not n.startswith("worker:")}, "workers": workers}


def _progress(started: float, what: str) -> None:
    print(f"bench: load: {what} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)


def run(multipliers: tuple[int, ...] = MULTIPLIERS) -> Result:
    customers = ["alice", "bob"]
    started = time.monotonic()
    stack = start(
        SEED="1", POLL_INTERVAL=str(Settings.poll_interval), LOCAL_RETRY_DELAY=str(Settings.retry_delay)
    )
    _progress(started, "stack started")
    try:
        catalog = prepare(stack, customers)
        environment = locust_environment(stack, catalog, customers)
        warm_workers(stack, catalog)
        _progress(started, "products, purchases and workers ready")
        with tempfile.TemporaryDirectory(prefix="shop-load-") as directory:
            warm = run_locust(stack, environment, BASE_RATE, WARM_UP_SECONDS, Path(directory) / "warm")
            warm.process.wait(timeout=WARM_UP_SECONDS + 120)
            idle_cpu = measure_idle(stack)
            _progress(started, "warmed up")
            levels = []
            for multiplier in multipliers:
                levels.append(run_level(stack, environment, catalog, multiplier, Path(directory)))
                _progress(started, f"{multiplier}x done")
    finally:
        stack.stop()
    return Result(
        base_rate=BASE_RATE,
        levels=levels,
        idle_cpu=idle_cpu,
        cores=os.cpu_count() or 1,
        poll_interval=Settings.poll_interval,
        concurrency=Settings.concurrency,
        products=len(catalog.browsed),
    )


def save(result: Result, path: Path) -> None:
    path.write_text(json.dumps(asdict(result), indent=1, allow_nan=True))


def load(path: Path) -> Result:
    """What ``save`` (or ``python -m bench.load.run``) wrote: redraw the page and plot without a run."""
    data = json.loads(path.read_text())
    levels = []
    for raw in data.pop("levels"):
        routes = {name: RouteStats(**stats) for name, stats in raw.pop("routes").items()}
        total = RouteStats(**raw.pop("total"))
        levels.append(Level(**raw, routes=routes, total=total))
    return Result(**data, levels=levels)


def plot(result: Result, png: Path) -> None:
    """The PNG, drawn by ``bench/plot.py`` in the bench venv (matplotlib lives there)."""
    with tempfile.TemporaryDirectory(prefix="shop-plot-") as directory:
        data = Path(directory) / "load.json"
        save(result, data)
        subprocess.run(
            [str(BENCH_VENV / "bin" / "python"), "-m", "bench.plot", str(data), str(png)],
            cwd=ROOT,
            check=True,
        )


if __name__ == "__main__":
    measured = run(tuple(int(m) for m in sys.argv[1:]) or MULTIPLIERS)
    print(json.dumps(asdict(measured), indent=1))

"""Throughput of the Command API and projection lag, on the local stack with default settings.

Projection lag = from the moment a command's answer arrives to the moment the Query API first
shows that change (GET polled every 5 ms). Commands are price changes on a set of products,
from concurrent clients, so they exercise the whole path: HTTP -> worker -> event store ->
stream poller -> CatalogProjector -> ProductsView -> Query API.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from local.stack.client import call
from local.stack.process import start
from local.stack.run import Settings

CLIENTS = 4
PRODUCTS = 100
THROUGHPUT_COMMANDS = 800
LAG_COMMANDS = 600
GET_POLL = 0.005


@dataclass
class Result:
    commands_per_second: float
    baseline_per_second: float
    command_p50_ms: float
    command_p99_ms: float
    lag_ms: dict[str, float]
    lag_samples: int
    poll_interval: float


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_clients(work: list[int], action: Callable[[int], object], clients: int = CLIENTS) -> float:
    """Run ``action`` on every item of ``work`` from ``clients`` threads; the wall time it took."""
    queue = list(work)
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            action(item)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run() -> Result:
    stack = start(
        SEED="0", POLL_INTERVAL=str(Settings.poll_interval), LOCAL_RETRY_DELAY=str(Settings.retry_delay)
    )
    try:
        ids = []
        for index in range(PRODUCTS):
            body = {
                "sku": f"BENCH-{uuid.uuid4().hex[:8]}-{index}",
                "name": f"Bench product {index}",
                "category": "bench",
                "price": {"amount": 100, "currency": "EUR"},
            }
            ids.append(
                call("POST", f"{stack.command}/products", body, token=stack.tokens["admin"]).json()[
                    "productId"
                ]
            )
        # Warm every worker of the functions involved.
        run_clients(
            list(range(CLIENTS * 4)), lambda i: call("GET", f"{stack.query}/products/{ids[i % PRODUCTS]}")
        )

        def not_found(_: int) -> None:
            call("GET", f"{stack.command}/no-such-route")

        baseline_seconds = run_clients(list(range(THROUGHPUT_COMMANDS)), not_found)

        latencies: list[float] = []

        def change_price(index: int) -> None:
            product = ids[index % PRODUCTS]
            started = time.perf_counter()
            reply = call(
                "PUT",
                f"{stack.command}/products/{product}/price",
                {"amount": 200 + index, "currency": "EUR"},
                token=stack.tokens["admin"],
            )
            latencies.append(time.perf_counter() - started)
            if reply.status != 200:
                raise RuntimeError(reply.body)

        command_seconds = run_clients(list(range(THROUGHPUT_COMMANDS)), change_price)

        lags: list[float] = []

        def change_and_watch(index: int) -> None:
            product = ids[index % PRODUCTS]
            reply = call(
                "PUT",
                f"{stack.command}/products/{product}/price",
                {"amount": 5000 + index, "currency": "EUR"},
                token=stack.tokens["admin"],
            )
            answered = time.perf_counter()
            version = reply.json()["version"]
            while call("GET", f"{stack.query}/products/{product}").json()["version"] < version:
                time.sleep(GET_POLL)
            lags.append(time.perf_counter() - answered)

        run_clients(list(range(LAG_COMMANDS)), change_and_watch)
    finally:
        stack.stop()
    return Result(
        commands_per_second=THROUGHPUT_COMMANDS / command_seconds,
        baseline_per_second=THROUGHPUT_COMMANDS / baseline_seconds,
        command_p50_ms=statistics.median(latencies) * 1000,
        command_p99_ms=percentile(latencies, 0.99) * 1000,
        lag_ms={p: percentile(lags, f) * 1000 for p, f in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        lag_samples=len(lags),
        poll_interval=Settings.poll_interval,
    )


def report(result: Result) -> str:
    lag = result.lag_ms
    return "\n".join(
        [
            f"Local stack with default settings: stream poll interval {result.poll_interval * 1000:.0f} ms,",
            f"{CLIENTS} concurrent HTTP clients, up to 4 worker processes per function.",
            "",
            "| Measure | Value |",
            "|---|---:|",
            f"| Commands per second ({THROUGHPUT_COMMANDS} price changes) | {result.commands_per_second:.0f} |",  # noqa: E501
            f"| Baseline: unrouted requests per second (404 problem) | {result.baseline_per_second:.0f} |",
            f"| Commands / baseline | {result.commands_per_second / result.baseline_per_second:.2f} |",
            f"| Command latency p50 / p99 | {result.command_p50_ms:.0f} / {result.command_p99_ms:.0f} ms |",
            f"| Projection lag p50 ({result.lag_samples} commands) | {lag['p50']:.0f} ms |",
            f"| Projection lag p95 | {lag['p95']:.0f} ms |",
            f"| Projection lag p99 | {lag['p99']:.0f} ms |",
            f"| Projection lag p99 / poll interval | {lag['p99'] / 1000 / result.poll_interval:.1f} |",
        ]
    )

"""Time to confirmation: on the local stack with default settings, from a checkout's 202 to
``GET /orders/{id}`` first showing ``CONFIRMED`` (polled every 5 ms). What each step costs, by number
of lines, is ``bench.cost``'s."""

from __future__ import annotations

import os
import statistics
import time
import uuid

from bench.localstack import CLIENTS, percentile, run_clients
from local.stack.client import call
from local.stack.process import start

CHECKOUTS = 150


def time_to_confirmation() -> dict[str, float]:
    stack = start(SEED="0")
    try:
        products = []
        for index in range(10):
            body = {
                "sku": f"TTC-{uuid.uuid4().hex[:6]}-{index}",
                "name": f"T{index}",
                "category": "bench",
                "price": {"amount": 100, "currency": "EUR"},
            }
            product = call("POST", f"{stack.command}/products", body, token=stack.tokens["admin"]).json()[
                "productId"
            ]
            call(
                "POST",
                f"{stack.command}/products/{product}/stock",
                {"quantity": 100_000},
                token=stack.tokens["admin"],
            )
            products.append(product)
        deadline = time.monotonic() + 10
        while (
            call("GET", f"{stack.query}/products/{products[-1]}").status != 200
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        durations: list[float] = []

        def checkout_and_wait(number: int) -> None:
            cart = call(
                "POST",
                f"{stack.command}/carts",
                {"customerId": f"c{number % 7}"},
                token=stack.tokens["admin"],
            ).json()["cartId"]
            call(
                "POST",
                f"{stack.command}/carts/{cart}/items",
                {"productId": products[number % 10], "quantity": 1},
                token=stack.tokens["admin"],
            )
            reply = call("POST", f"{stack.command}/carts/{cart}/checkout", token=stack.tokens["admin"])
            answered = time.perf_counter()
            order = reply.json()["orderId"]
            while True:
                seen = call("GET", f"{stack.query}/orders/{order}", token=stack.tokens["admin"])
                if seen.status == 200 and seen.json()["status"] == "CONFIRMED":
                    break
                time.sleep(0.005)
            durations.append(time.perf_counter() - answered)

        run_clients(list(range(CHECKOUTS)), checkout_and_wait)
    finally:
        stack.stop()
    return {
        "p50": statistics.median(durations) * 1000,
        "p95": percentile(durations, 0.95) * 1000,
        "p99": percentile(durations, 0.99) * 1000,
        "count": float(len(durations)),
        "load": os.getloadavg()[0],
    }


def report(timing: dict[str, float]) -> str:
    return "\n".join(
        [
            "Time from checkout answered (202) to order `CONFIRMED` in the Query API, local stack,",
            f"{int(timing['count'])} checkouts from {CLIENTS} clients, stream poll interval 100 ms",
            "(four stream hops: cart -> order -> stock reservation -> order -> view):",
            "",
            "| p50 | p95 | p99 |",
            "|---:|---:|---:|",
            f"| {timing['p50']:.0f} ms | {timing['p95']:.0f} ms | {timing['p99']:.0f} ms |",
            "",
            f"Load average (1 min) when the run ended: {timing['load']:.1f} on {os.cpu_count()} cores; each",
            "client polls every 5 ms, so on a busy machine the polling itself competes with the pipeline.",
        ]
    )


def run() -> str:
    return report(time_to_confirmation())

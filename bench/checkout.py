"""The checkout, step by step: requests and capacity by number of lines, and time to confirmation.

Capacity: every DynamoDB request of each step, through the real handlers on moto in process
(``bench.capacity``). Time: on the local stack with default settings, from the checkout's 202 to
``GET /orders/{id}`` first showing ``CONFIRMED`` (polled every 5 ms).
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass

from bench.capacity import Recorder
from bench.catalog import Measurement, expect, measure, recorded_stack
from bench.localstack import CLIENTS, percentile, run_clients
from local.stack.client import call
from local.stack.process import start
from local.stack.stack import Stack

LINE_COUNTS = (1, 5, 20)
STEPS = [
    ("CartEventStore", "OrderIntakePolicy", "2. OrderIntakePolicy places the order"),
    ("OrderEventStore", "StockReservationPolicy", "3. StockReservationPolicy reserves every line"),
    ("CatalogEventStore", "OrderFulfilmentPolicy", "4. OrderFulfilmentPolicy confirms the order"),
]
CHECKOUTS = 150


@dataclass
class StepCost:
    lines: int
    steps: list[Measurement]

    @property
    def writes(self) -> int:
        return sum(s.writes for s in self.steps)

    @property
    def wcu(self) -> float:
        return sum(s.wcu for s in self.steps)

    @property
    def rcu(self) -> float:
        return sum(s.rcu for s in self.steps)


def _deliver(stack: Stack, table: str, function: str) -> None:
    stack.poll_streams()
    stack.drain([m for m in stack.mappings if m.subscription.table == table and m.function == function])


def _steps(stack: Stack, recorder: Recorder, lines: int) -> StepCost:
    products = []
    for index in range(lines):
        body = {
            "sku": f"CK-{lines}-{index}",
            "name": f"Item {index}",
            "category": "bench",
            "price": {"amount": 100, "currency": "EUR"},
        }
        product = expect(201, stack.command("POST", "/products", body)).json()["productId"]
        expect(200, stack.command("POST", f"/products/{product}/stock", {"quantity": 1000}))
        products.append(product)
    stack.pump()
    cart = expect(201, stack.command("POST", "/carts", {"customerId": "bench"})).json()["cartId"]
    for product in products:
        expect(200, stack.command("POST", f"/carts/{cart}/items", {"productId": product, "quantity": 2}))
    stack.pump()
    steps = [
        measure(
            recorder,
            "1. POST /carts/{id}/checkout (CartCommands)",
            lambda: expect(202, stack.command("POST", f"/carts/{cart}/checkout")),
        )
    ]
    for table, function, label in STEPS:
        steps.append(measure(recorder, label, lambda t=table, f=function: _deliver(stack, t, f)))
    steps.append(measure(recorder, "5. Projectors (carts, orders, products)", stack.pump))
    return StepCost(lines, steps)


def capacity() -> list[StepCost]:
    with recorded_stack() as (stack, recorder):
        return [_steps(stack, recorder, lines) for lines in LINE_COUNTS]


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
    }


def report(costs: list[StepCost], timing: dict[str, float]) -> str:
    lines = ["| Lines | Step | DynamoDB requests | Writes | WCU | RCU |", "|---:|---|---|---:|---:|---:|"]
    for cost in costs:
        for step in cost.steps:
            requests = ", ".join(f"{op} x{n}" for op, n in step.requests.items())
            cells = [
                str(cost.lines),
                step.operation,
                requests,
                str(step.writes),
                f"{step.wcu:g}",
                f"{step.rcu:g}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        total = [
            str(cost.lines),
            "**whole checkout**",
            "",
            f"**{cost.writes}**",
            f"**{cost.wcu:g}**",
            f"**{cost.rcu:g}**",
        ]
        lines.append("| " + " | ".join(total) + " |")
    lines += [
        "",
        "Time from checkout answered (202) to order `CONFIRMED` in the Query API, local stack,",
        f"{int(timing['count'])} checkouts from {CLIENTS} clients, stream poll interval 100 ms (four stream",
        "hops: cart -> order -> stock reservation -> order -> view):",
        "",
        "| p50 | p95 | p99 |",
        "|---:|---:|---:|",
        f"| {timing['p50']:.0f} ms | {timing['p95']:.0f} ms | {timing['p99']:.0f} ms |",
    ]
    return "\n".join(lines)


def run() -> str:
    return report(capacity(), time_to_confirmation())

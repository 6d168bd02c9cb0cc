"""Requests and capacity of every Catalog operation, through the real handlers (moto in process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from bench.capacity import Recorder, RecordingClient
from local.stack.inprocess import in_process_stack
from local.stack.stack import Stack
from shop import runtime


@dataclass
class Measurement:
    operation: str
    requests: dict[str, int]
    writes: int
    reads: int
    wcu: float
    rcu: float
    largest_item: int


@contextmanager
def recorded_stack(recording: type[RecordingClient] = RecordingClient) -> Iterator[tuple[Stack, Recorder]]:
    """An in-process stack whose functions' DynamoDB clients are wrapped in ``recording``."""
    recorder = Recorder()
    with in_process_stack() as stack:
        real_client = boto3.client

        def read_back(table: str, key: Any) -> Any:
            return stack.clients.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

        def client(service: str, *args: Any, **kwargs: Any) -> Any:
            made = real_client(service, *args, **kwargs)
            return recording(made, recorder, read_back) if service == "dynamodb" else made

        boto3.client = client  # type: ignore[assignment]
        runtime.reset()
        try:
            yield stack, recorder
        finally:
            boto3.client = real_client  # type: ignore[assignment]


def measure(recorder: Recorder, operation: str, action: Callable[[], Any]) -> Measurement:
    recorder.clear()
    action()
    return Measurement(
        operation,
        recorder.requests(),
        recorder.writes,
        recorder.reads,
        recorder.wcu,
        recorder.rcu,
        recorder.largest_item,
    )


def product_body(sku: str, name: str, category: str = "kitchen") -> dict[str, Any]:
    return {
        "sku": sku,
        "name": name,
        "description": "Porcelain espresso cup, 80 ml, dishwasher safe.",
        "category": category,
        "price": {"amount": 1299, "currency": "EUR"},
    }


def expect(status: int, response: Any) -> Any:
    if response.status != status:
        raise RuntimeError(f"expected {status}, got {response.status}: {response.body!r}")
    return response


def run() -> list[Measurement]:
    results: list[Measurement] = []
    with recorded_stack() as (stack, recorder):
        for index in range(30):
            expect(
                201,
                stack.command("POST", "/products", product_body(f"FILL-{index:02d}", f"Filler {index:02d}")),
            )
        stack.pump()

        created: dict[str, str] = {}

        def create() -> None:
            response = expect(201, stack.command("POST", "/products", product_body("CUP-1", "Espresso cup")))
            created["id"] = response.json()["productId"]

        results.append(measure(recorder, "Create product (POST /products)", create))
        pid = created["id"]
        results.append(measure(recorder, "Project one commit (CatalogProjector)", stack.pump))
        commands: list[tuple[str, str, str, Any]] = [
            (
                "Change details (PATCH /products/{id})",
                "PATCH",
                f"/products/{pid}",
                {"name": "Espresso cup, white"},
            ),
            (
                "Change price (PUT /products/{id}/price)",
                "PUT",
                f"/products/{pid}/price",
                {"amount": 1399, "currency": "EUR"},
            ),
            ("Receive stock (POST /products/{id}/stock)", "POST", f"/products/{pid}/stock", {"quantity": 10}),
            ("Receive stock again (stock stream exists)", "POST", f"/products/{pid}/stock", {"quantity": 5}),
        ]
        for label, method, path, body in commands:
            results.append(
                measure(recorder, label, lambda m=method, p=path, b=body: expect(200, stack.command(m, p, b)))
            )
        stack.pump()
        results.append(
            measure(
                recorder,
                "Get product (GET /products/{id})",
                lambda: expect(200, stack.query("GET", f"/products/{pid}")),
            )
        )
        results.append(
            measure(
                recorder,
                "List products, 20 per page (GET /products)",
                lambda: expect(200, stack.query("GET", "/products")),
            )
        )
        for cents in range(2, 201):
            stack.command("PUT", f"/products/{pid}/price", {"amount": cents, "currency": "EUR"})
        results.append(
            measure(
                recorder,
                "Change price, product with 200 events",
                lambda: expect(
                    200, stack.command("PUT", f"/products/{pid}/price", {"amount": 7, "currency": "EUR"})
                ),
            )
        )
        results.append(
            measure(
                recorder,
                "Discontinue (POST /products/{id}/discontinue)",
                lambda: expect(200, stack.command("POST", f"/products/{pid}/discontinue")),
            )
        )
    return results


def table(results: list[Measurement]) -> str:
    lines = [
        "| Operation | DynamoDB requests | Write requests | WCU | RCU | Largest item |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in results:
        requests = ", ".join(f"{op} x{n}" for op, n in m.requests.items())
        lines.append(
            f"| {m.operation} | {requests} | {m.writes} | {m.wcu:g} | {m.rcu:g} | {m.largest_item} B |"
        )
    return "\n".join(lines)

"""Rebuild throughput: ``shop.operations.rebuild`` over a Catalog event store of 10k and 100k events.

A moto server (the local stack's endpoint) holds a ``CatalogEventStore`` and an empty
``ProductsView`` made from template.yaml. The store gets products of the same shape at both sizes
(one ``ProductCreated``, 24 price changes, 25 stock receipts, one event per commit), so the larger
run has ten times the streams, not longer ones; then the rebuild runs as ``shopctl rebuild --into``
would, in 4 parallel segments, and the resulting view is checked against a replay.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from local.aws.template import Template, table_definition
from shop.eventstore.codec import encode_commit
from shop.eventstore.model import EventMetadata, NewEvent
from shop.operations.readmodels import READ_MODELS
from shop.operations.rebuild import dynamodb_rebuild

SIZES = (10_000, 100_000)
#: Per product: ProductCreated + 24 price changes on product-<id>, 25 receipts on stock-<id>.
PRICE_CHANGES = 24
RECEIPTS = 25
EVENTS_PER_PRODUCT = 1 + PRICE_CHANGES + RECEIPTS
SEGMENTS = 4
META = EventMetadata("bench", "bench", "bench")
AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Result:
    events: int
    streams: int
    commits: int
    rows_written: int
    load_seconds: float
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def product_items(number: int) -> list[dict[str, Any]]:
    product = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{number}"))
    price = {"amount": 1000, "currency": "EUR"}
    created = {
        "productId": product,
        "sku": f"BENCH-{number}",
        "name": f"Bench product {number}",
        "description": "A product of the rebuild benchmark.",
        "category": f"bench-{number % 20}",
        "price": price,
    }
    events = [("product", "ProductCreated", created)]
    events += [
        (
            "product",
            "ProductPriceChanged",
            {"price": {"amount": 1001 + change, "currency": "EUR"}, "previousPrice": price},
        )
        for change in range(PRICE_CHANGES)
    ]
    events += [("stock", "StockReceived", {"productId": product, "quantity": 3})] * RECEIPTS
    versions = {"product": 0, "stock": 0}
    items = []
    for kind, event_type, data in events:
        items.append(
            encode_commit(
                f"{kind}-{product}", versions[kind], [NewEvent(event_type, data, occurred_at=AT)], META
            )
        )
        versions[kind] += 1
    return items


def load(client: Any, table: str, products: int) -> None:
    batch: list[dict[str, Any]] = []
    for number in range(products):
        for item in product_items(number):
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                _write(client, table, batch)
                batch = []
    if batch:
        _write(client, table, batch)


def _write(client: Any, table: str, batch: list[dict[str, Any]]) -> None:
    request: dict[str, Any] = {table: batch}
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def measure(endpoint: str, events: int) -> Result:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    template = Template()
    prefix = f"b{events}-"
    names = {logical: f"{prefix}{logical}" for logical in ("CatalogEventStore", "ProductsView")}
    for logical, name in names.items():
        definition = table_definition(name, template.tables[logical])
        definition.pop("StreamSpecification", None)  # nobody reads it here; moto writes faster without
        client.create_table(**definition)
    products = events // EVENTS_PER_PRODUCT
    started = time.perf_counter()
    load(client, names["CatalogEventStore"], products)
    loaded = time.perf_counter() - started
    rebuild = dynamodb_rebuild(
        READ_MODELS["ProductsView"],
        client,
        store_table=names["CatalogEventStore"],
        view_table=names["ProductsView"],
        total_segments=SEGMENTS,
    )
    outcome = rebuild.run()
    if not outcome.ok:
        raise RuntimeError(f"the rebuild failed: {outcome.failures[:3]}")
    sample = client.get_item(
        TableName=names["ProductsView"],
        Key={"productId": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "bench-0"))}},
        ConsistentRead=True,
    )["Item"]
    expected = {
        "version": str(1 + PRICE_CHANGES),
        "stockVersion": str(RECEIPTS),
        "available": str(3 * RECEIPTS),
    }
    if {name: sample[name]["N"] for name in expected} != expected:
        raise RuntimeError(f"the rebuilt row is not the replay: {sample}")
    for name in names.values():
        client.delete_table(TableName=name)
    return Result(
        outcome.events, outcome.streams, outcome.commits, outcome.rows_written, loaded, outcome.seconds
    )


def run() -> list[Result]:
    endpoint = subprocess.Popen(
        [sys.executable, "-m", "local.aws.endpoint", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert endpoint.stdout is not None
        url = f"http://127.0.0.1:{endpoint.stdout.readline().split()[1]}"
        return [measure(url, size) for size in SIZES]
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=30)


def table(results: list[Result]) -> str:
    lines = [
        "| events | streams | commits | row writes | rebuild | events/s | per 1k events |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.events:,} | {r.streams:,} | {r.commits:,} | {r.rows_written:,} | {r.seconds:.1f} s "
        f"| {r.events_per_second:,.0f} | {1000 * r.seconds / r.events:.2f} s |"
        for r in results
    ]
    small, large = results[0], results[-1]
    times, sizes = large.seconds / small.seconds, large.events / small.events
    lines += [
        "",
        (
            f"From {small.events:,} to {large.events:,} events the time grows {times:.1f}x for {sizes:.0f}x"
            f" the events ({times / sizes:.2f} of linear)."
        ),
    ]
    return "\n".join(lines)

"""No oversell, whatever the concurrency: 12 buyers, 5 units.

Runs against the moto server (requests atomic like DynamoDB's). Checkouts go through the Command
API handler; then the twelve ``OrderPlaced`` records reach ``StockReservationPolicy`` at the same
time, from twelve threads, as twelve concurrent Lambda invocations would. A record whose
invocation fails is delivered again, as Lambda does. Then the rest of the pipeline runs, and every
record of every stream is delivered once more: nothing may change.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.store import ConcurrencyError
from tests.support.streams import replay_everything, stream_records, table_items

BUYERS, UNITS = 12, 5
STORES_AND_VIEWS = [
    "CatalogEventStore",
    "CartEventStore",
    "OrderEventStore",
    "ProductsView",
    "CartsView",
    "OrdersView",
]


def deliver_until_done(stack: Any, function: str, record: dict[str, Any]) -> int:
    for attempt in range(1, 30):
        answer = stack.invoker.invoke(function, {"Records": [record]})
        if answer == {"batchItemFailures": []}:
            return attempt
    raise AssertionError(f"{function} never accepted {record['dynamodb']['SequenceNumber']}")


@pytest.fixture
def conflicts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every lost race of a cross-stream append (the reservation transaction), as it happens."""
    seen: list[tuple[str, ...]] = []
    original = DynamoDBEventStore.append_all

    def counting(self: DynamoDBEventStore, writes: Any, metadata: Any, **checks: Any) -> None:
        try:
            original(self, writes, metadata, **checks)
        except ConcurrencyError as error:
            seen.append(error.stream_ids)
            raise

    monkeypatch.setattr(DynamoDBEventStore, "append_all", counting)
    return seen


@pytest.mark.parametrize("run", range(3))
def test_concurrent_checkouts_never_oversell(
    server_stack: Any, conflicts: list[tuple[str, ...]], run: int
) -> None:
    stack = server_stack
    created = stack.command(
        "POST",
        "/products",
        {
            "sku": f"SCARCE-{run}",
            "name": "Scarce",
            "category": "rare",
            "price": {"amount": 999, "currency": "EUR"},
        },
    )
    product = created.json()["productId"]
    assert stack.command("POST", f"/products/{product}/stock", {"quantity": UNITS}).status == 200
    stack.pump()

    orders = []
    for buyer in range(BUYERS):
        cart = stack.command("POST", "/carts", {"customerId": f"buyer-{buyer}"}).json()["cartId"]
        assert (
            stack.command("POST", f"/carts/{cart}/items", {"productId": product, "quantity": 1}).status == 200
        )
        checkout = stack.command("POST", f"/carts/{cart}/checkout")
        assert checkout.status == 202
        orders.append(checkout.json()["orderId"])

    # Cart stream -> OrderIntakePolicy places the twelve orders (and CartProjector runs).
    stack.poll_streams()
    stack.drain([m for m in stack.mappings if m.subscription.table == "CartEventStore"])
    placed = [
        r
        for r in stream_records(stack, "OrderEventStore")
        if "OrderPlaced" in json.dumps(r["dynamodb"]["NewImage"]["eventTypes"])
    ]
    assert len(placed) == BUYERS

    start = threading.Barrier(BUYERS)

    def reserve(record: dict[str, Any]) -> int:
        start.wait()
        return deliver_until_done(stack, "StockReservationPolicy", record)

    with ThreadPoolExecutor(BUYERS) as pool:
        attempts = list(pool.map(reserve, placed))
    assert conflicts, "the reservations never raced; the test would prove nothing"

    stack.pump()  # fulfilment, projectors, and the reservation policy's own (duplicate) deliveries
    statuses = [stack.query("GET", f"/orders/{order}").json()["status"] for order in orders]
    assert statuses.count("CONFIRMED") == UNITS, statuses
    assert statuses.count("REJECTED") == BUYERS - UNITS, statuses
    product_view = stack.query("GET", f"/products/{product}").json()
    assert (product_view["available"], product_view["inStock"]) == (0, False)
    assert product_view["stockVersion"] == 1 + UNITS  # received once, reserved five times

    rejected = next(o for o in orders if stack.query("GET", f"/orders/{o}").json()["status"] == "REJECTED")
    assert (
        stack.query("GET", f"/orders/{rejected}").json()["reason"]
        == "Not enough stock for: Scarce (requested 1, available 0)"
    )

    before = {name: table_items(stack, name) for name in STORES_AND_VIEWS}
    assert replay_everything(stack) > 0
    stack.pump()
    assert {name: table_items(stack, name) for name in STORES_AND_VIEWS} == before
    print(f"run {run}: {len(conflicts)} lost races, invocations per order {sorted(attempts)}")

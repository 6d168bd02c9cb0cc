"""Histories stored by older code (``CartItemAdded`` v1) load, project and drive the policies through
the whole stack; an event newer than the code fails its records, which are parked (docs/parking.md),
and its commands answer 503, while everything else keeps flowing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shop.eventstore.codec import encode_commit
from shop.eventstore.model import EventMetadata, NewEvent
from shop.operations.parking import ParkedStream
from shop.operations.parking_dynamodb import DynamoDBParkingLot
from shop.streams import DETERMINISTIC_FAILURE
from tests.support.replay import check, read_snapshot

META = EventMetadata("v1-era", "v1-request", "alice-sub")


def product(stack: Any, units: int) -> tuple[str, dict[str, Any]]:
    price = {"amount": 450, "currency": "EUR"}
    body = {"sku": uuid.uuid4().hex[:12], "name": "Cup", "category": "kitchen", "price": price}
    created = stack.command("POST", "/products", body)
    assert created.status == 201, created.body
    product_id = str(created.json()["productId"])
    assert stack.command("POST", f"/products/{product_id}/stock", {"quantity": units}).status == 200
    return product_id, price


def store_commit(stack: Any, stream_id: str, version: int, *events: NewEvent) -> None:
    """A commit exactly as the event store writes it (what a restored store holds)."""
    item = encode_commit(stream_id, version - 1, list(events), META)
    stack.clients.dynamodb.put_item(TableName=stack.physical["CartEventStore"], Item=item)


def v1_cart(stack: Any, product_id: str, price: dict[str, Any], *quantities: int) -> str:
    """A cart written before ``CartItemAdded`` v2: its items name the units added ``quantity``."""
    cart_id = str(uuid.uuid4())
    created = {"cartId": cart_id, "customerId": "alice", "currency": "EUR"}
    store_commit(stack, f"cart-{cart_id}", 1, NewEvent("CartCreated", created, schema_version=1))
    for version, quantity in enumerate(quantities, start=2):
        added = {"productId": product_id, "name": "Cup", "quantity": quantity, "unitPrice": price}
        store_commit(stack, f"cart-{cart_id}", version, NewEvent("CartItemAdded", added, schema_version=1))
    return cart_id


def stored_events(stack: Any, stream_id: str) -> list[dict[str, Any]]:
    items = stack.clients.dynamodb.query(
        TableName=stack.physical["CartEventStore"],
        KeyConditionExpression="streamId = :s",
        ExpressionAttributeValues={":s": {"S": stream_id}},
    )["Items"]
    return [event for item in items for event in json.loads(item["events"]["S"])]


def test_a_cart_stored_by_v1_code_projects_loads_checks_out_and_settles(stack: Any) -> None:
    product_id, price = product(stack, 10)
    cart_id = v1_cart(stack, product_id, price, 2, 1)
    stack.pump()

    # The projector read v1 records (the stream) and wrote what they meant.
    cart = stack.query("GET", f"/carts/{cart_id}").json()
    assert [(item["productId"], item["quantity"]) for item in cart["items"]] == [(product_id, 3)]

    # The command side loads the v1 history, adds to the line, and appends v2.
    added = stack.command("POST", f"/carts/{cart_id}/items", {"productId": product_id, "quantity": 4})
    assert added.status == 200, added.body
    newest = stored_events(stack, f"cart-{cart_id}")[-1]
    assert (newest["type"], newest["schemaVersion"], newest["data"]["quantityAdded"]) == (
        "CartItemAdded",
        2,
        4,
    )
    stack.pump()
    assert stack.query("GET", f"/carts/{cart_id}").json()["items"][0]["quantity"] == 7

    # Checkout drives the policies: intake places the order, the Catalog reserves 7 units.
    checked_out = stack.command("POST", f"/carts/{cart_id}/checkout")
    assert checked_out.status == 202, checked_out.body
    stack.pump()
    order = stack.query("GET", f"/orders/{checked_out.json()['orderId']}").json()
    assert (order["status"], order["lines"][0]["quantity"]) == ("CONFIRMED", 7)
    assert stack.query("GET", f"/products/{product_id}").json()["available"] == 3

    # A clean replay of every store (upcast on the way) gives exactly the read tables.
    report = check(read_snapshot(stack.clients.dynamodb, stack.physical))
    assert report.ok, report.summary()


def parked(stack: Any, consumer: str, stream_id: str) -> ParkedStream | None:
    """What ``consumer`` parked of ``stream_id`` once Lambda gave up on it (its on-failure queue is
    read back by its own ``ParkFailures`` event)."""
    table = stack.physical[f"{consumer}Parked"]
    return DynamoDBParkingLot(stack.clients.dynamodb, table, consumer).stream(stream_id)


def test_an_event_newer_than_the_code_is_never_read_as_an_older_one(stack: Any) -> None:
    product_id, price = product(stack, 10)
    cart_id = v1_cart(stack, product_id, price, 2)
    stack.pump()
    newer = {"productId": product_id, "name": "Cup", "units": {"count": 1}, "unitPrice": price}
    store_commit(stack, f"cart-{cart_id}", 3, NewEvent("CartItemAdded", newer, schema_version=3))
    healthy = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    stack.pump()

    # The projector gave up on that stream's record, which is parked; the row stays at what it
    # could read, and another cart was projected meanwhile.
    assert stack.query("GET", f"/carts/{cart_id}").json()["items"][0]["quantity"] == 2
    assert stack.query("GET", f"/carts/{healthy}").status == 200
    entry = parked(stack, "CartProjector", f"cart-{cart_id}")
    assert entry is not None
    assert [r.version for r in entry.records] == [3]
    assert (entry.failure.condition, entry.failure.error.split(":")[0]) == (
        "RetryAttemptsExhausted",
        "UnreadableEvent",
    )

    # A command on that cart does not run: 503 problem+json with Retry-After, no internals.
    answer = stack.command("POST", f"/carts/{cart_id}/items", {"productId": product_id, "quantity": 1})
    assert answer.status == 503, answer.body
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "30"
    body = answer.json()
    assert body["type"] == "urn:shop:problem:unreadable-event"
    assert b"Traceback" not in answer.body
    assert b"CartItemAdded" not in answer.body
    assert len(stored_events(stack, f"cart-{cart_id}")) == 3  # nothing appended


def test_a_policy_record_of_a_newer_version_is_parked_at_once(stack: Any) -> None:
    """No retry can read it (a newer deployment wrote it): parked at once, not retried for the
    mapping's budget; ``shopctl redrive`` delivers it once this code reads that version."""
    product_id, price = product(stack, 10)
    cart_id = str(uuid.uuid4())
    checked_out = {
        "cartId": cart_id,
        "orderId": str(uuid.uuid4()),
        "customerId": "alice",
        "lines": [{"productId": product_id, "name": "Cup", "quantity": 1, "unitPrice": price}],
        "total": price,
        "channel": "a field of a version this code does not know",
    }
    store_commit(stack, f"cart-{cart_id}", 1, NewEvent("CartCheckedOut", checked_out, schema_version=2))
    stack.pump()

    entry = parked(stack, "OrderIntakePolicy", f"cart-{cart_id}")
    assert entry is not None
    assert (entry.failure.condition, entry.failure.error.split(":")[0]) == (
        DETERMINISTIC_FAILURE,
        "UnreadableEvent",
    )
    assert stack.query("GET", f"/orders/{checked_out['orderId']}").status == 404

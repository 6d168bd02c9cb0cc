"""Snapshots of carts and products through the real handlers on moto (docs/snapshots.md).

``SNAPSHOT_EVERY`` is set low so that a few commands cross boundaries. Every AWS call the handlers
make is held against their roles in the template (``tests/conftest.py``), so a missing grant on a
snapshot table fails these tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws import calls
from shop import runtime
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.model import RecordedEvent
from tests.integration.test_idempotency import Killed, die, lambda_deadline_passes
from tests.support.replay import check, read_snapshot

SNAPSHOT_TABLES = ("CartSnapshotStore", "CatalogSnapshotStore")


def snapshot_every(monkeypatch: pytest.MonkeyPatch, events: int) -> None:
    monkeypatch.setenv("SNAPSHOT_EVERY", str(events))
    runtime.reset()  # the command services are built again, with this setting


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Where each event-store load started: (stream id, after version)."""
    started: list[tuple[str, int]] = []
    real = DynamoDBEventStore.load

    def load(self: DynamoDBEventStore, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        started.append((stream_id, after_version))
        return real(self, stream_id, after_version)

    monkeypatch.setattr(DynamoDBEventStore, "load", load)
    return started


def snapshot_item(stack: Any, table: str, stream_id: str) -> dict[str, Any] | None:
    item = stack.clients.dynamodb.get_item(
        TableName=stack.physical[table], Key={"streamId": {"S": stream_id}}, ConsistentRead=True
    ).get("Item")
    return dict(item) if item else None


def commits(stack: Any, table: str) -> int:
    return len(stack.clients.dynamodb.scan(TableName=stack.physical[table])["Items"])


def new_product(stack: Any, sku: str = "CUP") -> str:
    body = {"sku": sku, "name": "Cup", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}}
    created = stack.command("POST", "/products", body)
    assert created.status == 201, created.body
    return str(created.json()["productId"])


@pytest.fixture
def cup(stack: Any) -> str:
    product = new_product(stack)
    stack.pump()  # listed: carts can hold it
    return product


def add(stack: Any, cart: str, product: str, quantity: int = 1, headers: Any = None) -> Any:
    line = {"productId": product, "quantity": quantity}
    return stack.command("POST", f"/carts/{cart}/items", line, headers, as_user="alice")


def new_cart(stack: Any) -> str:
    return str(stack.command("POST", "/carts", {}, as_user="alice").json()["cartId"])


def test_a_cart_is_snapshotted_every_n_events_and_loaded_from_its_snapshot(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch, loads: list[tuple[str, int]]
) -> None:
    snapshot_every(monkeypatch, 3)
    cart = new_cart(stack)
    for _ in range(3):
        assert add(stack, cart, cup).status == 200  # versions 2, 3, 4

    item = snapshot_item(stack, "CartSnapshotStore", f"cart-{cart}")
    assert item is not None
    assert (item["version"], item["commitVersion"], item["schemaVersion"]) == (
        {"N": "3"},
        {"N": "3"},
        {"N": "1"},
    )
    assert json.loads(item["state"]["S"])["lines"][0]["quantity"] == 2

    loads.clear()
    added = add(stack, cart, cup, 5)

    assert (added.status, added.json()["version"]) == (200, 5)
    assert loads == [(f"cart-{cart}", 2)]  # the snapshot's commit and what follows, not the whole stream
    stack.pump()
    shown = stack.query("GET", f"/carts/{cart}", as_user="alice").json()
    assert (shown["version"], shown["items"][0]["quantity"]) == (5, 8)
    assert stack.command("POST", f"/carts/{cart}/checkout", as_user="alice").status == 202  # version 6
    assert snapshot_item(stack, "CartSnapshotStore", f"cart-{cart}")["version"] == {"N": "6"}  # type: ignore[index]
    stack.pump()
    assert check(read_snapshot(stack.clients.dynamodb, stack.physical)).findings == ()  # no snapshot seen


def test_a_product_s_snapshot_serves_its_commands_and_the_stock_guard(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch, loads: list[tuple[str, int]]
) -> None:
    snapshot_every(monkeypatch, 2)
    assert stack.command("PATCH", f"/products/{cup}", {"name": "Big cup"}).status == 200
    assert stack.command("PUT", f"/products/{cup}/price", {"amount": 700, "currency": "EUR"}).status == 200

    assert snapshot_item(stack, "CatalogSnapshotStore", f"product-{cup}")["version"] == {"N": "2"}  # type: ignore[index]
    loads.clear()
    assert stack.command("POST", f"/products/{cup}/stock", {"quantity": 4}).status == 200
    assert (f"product-{cup}", 1) in loads  # the guard: from the snapshot's commit
    assert (f"stock-{cup}", 0) in loads  # stock is never snapshotted
    assert snapshot_item(stack, "CatalogSnapshotStore", f"stock-{cup}") is None

    stack.pump()
    shown = stack.query("GET", f"/products/{cup}").json()
    assert (shown["name"], shown["price"]["amount"], shown["available"], shown["version"]) == (
        "Big cup",
        700,
        4,
        3,
    )
    assert stack.command("POST", f"/products/{cup}/discontinue").status == 200
    stack.pump()
    assert check(read_snapshot(stack.clients.dynamodb, stack.physical)).findings == ()


def spoil(item: dict[str, Any], how: str) -> dict[str, Any]:
    match how:
        case "older schema":
            item["schemaVersion"] = {"N": "0"}
        case "corrupt state":
            item["state"] = {"S": '{"customerId": 7'}
        case "state of another shape":
            item["state"] = {"S": json.dumps({**json.loads(item["state"]["S"]), "lines": "none"})}
        case "another history":
            item["lastEventId"] = {"S": "00000000-0000-0000-0000-000000000000"}
        case "attributes missing":
            del item["commitVersion"]
    return item


@pytest.mark.parametrize(
    "how",
    ["older schema", "corrupt state", "state of another shape", "another history", "attributes missing"],
)
def test_a_snapshot_that_does_not_fit_is_ignored_and_the_whole_stream_loaded(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch, loads: list[tuple[str, int]], how: str
) -> None:
    snapshot_every(monkeypatch, 2)
    cart = new_cart(stack)
    assert add(stack, cart, cup, 2).status == 200
    item = snapshot_item(stack, "CartSnapshotStore", f"cart-{cart}")
    assert item is not None
    # Valid-looking parts would show: had it been trusted, the cart would hold 50 units.
    state = json.loads(item["state"]["S"])
    state["lines"][0]["quantity"] = 50
    item["state"] = {"S": json.dumps(state)}
    stack.clients.dynamodb.put_item(TableName=stack.physical["CartSnapshotStore"], Item=spoil(item, how))

    loads.clear()
    added = add(stack, cart, cup, 1)

    assert (added.status, added.json()["version"]) == (200, 3), added.body
    assert loads[-1] == (f"cart-{cart}", 0)
    stack.pump()
    assert stack.query("GET", f"/carts/{cart}", as_user="alice").json()["items"][0]["quantity"] == 3


def test_a_command_succeeds_when_the_snapshot_table_cannot_be_read_or_written(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is gone (ResourceNotFoundException on every get and put): commands work as without
    snapshots."""
    snapshot_every(monkeypatch, 2)
    stack.clients.dynamodb.delete_table(TableName=stack.physical["CartSnapshotStore"])
    cart = new_cart(stack)

    for expected_version in (2, 3, 4):
        added = add(stack, cart, cup, 1)
        assert (added.status, added.json()["version"]) == (200, expected_version), added.body
    assert commits(stack, "CartEventStore") == 4


def test_a_retry_of_a_run_that_died_is_answered_from_its_commit_behind_a_snapshot(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/idempotency.md, item 7, with the keyed commit behind the cart's latest snapshot."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    snapshot_every(monkeypatch, 2)
    cart = new_cart(stack)
    keyed = {"Idempotency-Key": "a4b0f6f2-52a5-4c8f-9e0e-1b8f3a3c9d11"}
    with monkeypatch.context() as patch:  # dies between its append (version 2) and completing its record
        patch.setattr(DynamoDBPersistenceLayer, "_update_record", die)
        with pytest.raises(Killed):
            add(stack, cart, cup, 2, keyed)
    for _ in range(3):
        assert add(stack, cart, cup, 1).status == 200  # versions 3, 4, 5: snapshots at 2 and 4
    assert snapshot_item(stack, "CartSnapshotStore", f"cart-{cart}")["version"] == {"N": "4"}  # type: ignore[index]
    appended = commits(stack, "CartEventStore")

    lambda_deadline_passes(stack)
    retried = add(stack, cart, cup, 2, keyed)

    assert (retried.status, retried.json()["version"]) == (200, 2), retried.body
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert commits(stack, "CartEventStore") == appended


@pytest.fixture
def made() -> Iterator[calls.CallList]:
    with calls.collecting() as recorded:
        yield recorded


def test_snapshot_every_zero_turns_snapshots_off(
    stack: Any, cup: str, monkeypatch: pytest.MonkeyPatch, made: calls.CallList
) -> None:
    snapshot_every(monkeypatch, 0)
    cart = new_cart(stack)
    for _ in range(3):
        assert add(stack, cart, cup).status == 200
    assert stack.command("PATCH", f"/products/{cup}", {"name": "Big cup"}).status == 200

    snapshot_tables = {stack.physical[t] for t in SNAPSHOT_TABLES}
    assert not [c for c in made.calls() if c.params.get("TableName") in snapshot_tables]
    assert all(snapshot_item(stack, t, f"cart-{cart}") is None for t in SNAPSHOT_TABLES)


def test_by_default_a_short_cart_costs_one_snapshot_get_per_command_and_no_put(
    stack: Any, cup: str, made: calls.CallList
) -> None:
    """The template's SNAPSHOT_EVERY (50): a cart of a few events is never snapshotted, and each
    command that loads it asks for its snapshot once."""
    cart = new_cart(stack)
    before = len(made.calls())
    assert add(stack, cart, cup).status == 200

    on_snapshots = [
        c.operation
        for c in made.calls()[before:]
        if c.params.get("TableName") == stack.physical["CartSnapshotStore"]
    ]
    assert on_snapshots == ["GetItem"]

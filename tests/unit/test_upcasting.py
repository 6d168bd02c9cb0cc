"""Upcasting on read: older stored versions reach every reader as the current version; a version
newer than the code, or a type it does not know, is never read as something else."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import pytest

from local.aws.functions import LambdaContext
from shop.application import Repository
from shop.cart.domain import Cart
from shop.cart.events import CartItemAdded, cart_events, quantity_named_as_added
from shop.cart.projection import CartsProjection
from shop.domain.events import DomainEvent, EventRegistry
from shop.domain.money import Money
from shop.errors import UnreadableEvent
from shop.eventstore.codec import decode_commit, encode_commit
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED, upcast_event
from shop.projection.engine import ProjectionEngine
from shop.streams import policy_handler, projector_handler
from shop.views.memory import InMemoryView
from tests.support.histories import stream_record

META = EventMetadata("corr", "cause", "alice")
CART = "c0ffee00-0000-4000-8000-000000000001"
CUP = "p-cup"
EUR = {"amount": 250, "currency": "EUR"}
CREATED = {"cartId": CART, "customerId": "alice", "currency": "EUR"}


def added_v1(quantity: int) -> NewEvent:
    """``CartItemAdded`` as the code before version 2 stored it."""
    data = {"productId": CUP, "name": "Cup", "quantity": quantity, "unitPrice": EUR}
    return NewEvent("CartItemAdded", data, schema_version=1)


def v1_cart(store: InMemoryEventStore, *quantities: int) -> None:
    store.append(f"cart-{CART}", 0, [NewEvent("CartCreated", CREATED)], META)
    for version, quantity in enumerate(quantities, start=1):
        store.append(f"cart-{CART}", version, [added_v1(quantity)], META)


# ---------------------------------------------------------------- the real upcaster


def test_cart_item_added_v1_becomes_v2_with_the_units_named_as_added() -> None:
    v1 = {"productId": CUP, "name": "Cup", "quantity": 3, "unitPrice": EUR}
    kept = copy.deepcopy(v1)

    assert cart_events.upcast("CartItemAdded", 1, v1) == (
        2,
        {"productId": CUP, "name": "Cup", "quantityAdded": 3, "unitPrice": EUR},
    )
    assert v1 == kept  # the stored payload is not touched
    assert CartItemAdded.schema_version == 2
    assert quantity_named_as_added(v1) == {
        "productId": CUP,
        "name": "Cup",
        "quantityAdded": 3,
        "unitPrice": EUR,
    }


def test_a_current_event_passes_unchanged_and_uncopied() -> None:
    data = {"productId": CUP, "name": "Cup", "quantityAdded": 3, "unitPrice": EUR}
    version, same = cart_events.upcast("CartItemAdded", 2, data)
    assert (version, same) == (2, data)
    assert same is data


@pytest.mark.parametrize("version", [3, 99, 0, -1, "2", True, None])
def test_a_version_the_code_does_not_know_is_unreadable_not_guessed(version: Any) -> None:
    with pytest.raises(UnreadableEvent) as raised:
        cart_events.upcast("CartItemAdded", version, {"quantityAdded": 1})
    assert (raised.value.type_name, raised.value.schema_version) == ("CartItemAdded", version)


def test_a_type_the_service_does_not_know_is_unreadable() -> None:
    with pytest.raises(UnreadableEvent, match="not an event type of this service"):
        cart_events.upcast("ProductCreated", 1, {})


# ---------------------------------------------------------------- the registry's chains


class Renamed(DomainEvent):
    """v1 ``{"n": …}``, v2 ``{"count": …}``, v3 ``{"count": …, "unit": …}``."""

    schema_version: ClassVar[int] = 3

    count: int
    unit: str


class Plain(DomainEvent):
    value: int


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"count": data["n"]}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "unit": "piece"}


def test_a_chain_is_applied_step_by_step_from_the_stored_version() -> None:
    registry = EventRegistry([Renamed, Plain], {(Renamed, 1): _v1_to_v2, (Renamed, 2): _v2_to_v3})
    assert registry.upcast("Renamed", 1, {"n": 4}) == (3, {"count": 4, "unit": "piece"})
    assert registry.upcast("Renamed", 2, {"count": 5}) == (3, {"count": 5, "unit": "piece"})
    assert registry.upcast("Plain", 1, {"value": 1}) == (1, {"value": 1})
    assert registry.decode("Renamed", registry.upcast("Renamed", 1, {"n": 4})[1]) == Renamed(
        count=4, unit="piece"
    )


def test_an_upcaster_that_mutates_what_it_is_given_cannot_change_the_stored_payload() -> None:
    def careless(data: dict[str, Any]) -> dict[str, Any]:
        data["count"] = data.pop("n")
        return data

    registry = EventRegistry([Renamed], {(Renamed, 1): careless, (Renamed, 2): _v2_to_v3})
    stored = {"n": 4}
    registry.upcast("Renamed", 1, stored)
    assert stored == {"n": 4}


@pytest.mark.parametrize(
    ("upcasters", "complaint"),
    [
        ({(Renamed, 1): _v1_to_v2}, r"missing \[\('Renamed', 2\)\]"),
        (
            {(Renamed, 1): _v1_to_v2, (Renamed, 2): _v2_to_v3, (Renamed, 3): _v2_to_v3},
            r"extra \[\('Renamed', 3\)\]",
        ),
        (
            {(Renamed, 1): _v1_to_v2, (Renamed, 2): _v2_to_v3, (Plain, 1): _v1_to_v2},
            r"extra \[\('Plain', 1\)\]",
        ),
    ],
)
def test_a_registry_refuses_a_chain_with_a_gap_or_a_step_past_the_current_version(
    upcasters: Any, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        EventRegistry([Renamed, Plain], upcasters)


def test_every_service_registry_is_complete() -> None:
    """Built at import: a service whose chain had a gap would not even import."""
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.orders.events import order_events  # noqa: PLC0415

    for registry in (catalog_events, cart_events, order_events):
        for cls in registry:
            assert cls.schema_version >= 1
            assert cls.type_name() in registry


# ---------------------------------------------------------------- where events are read


def test_decoding_a_commit_upcasts_each_event_and_as_stored_leaves_it() -> None:
    item = encode_commit(f"cart-{CART}", 0, [NewEvent("CartCreated", CREATED), added_v1(2)], META)

    created, added = decode_commit(item, upcaster=cart_events)
    assert (added.schema_version, added.data["quantityAdded"], "quantity" in added.data) == (2, 2, False)
    assert (created.schema_version, created.data) == (1, CREATED)
    assert [e.version for e in (created, added)] == [1, 2]

    raw = decode_commit(item, upcaster=AS_STORED)[1]
    assert (raw.schema_version, raw.data["quantity"]) == (1, 2)


def test_a_commit_holding_a_newer_version_does_not_decode() -> None:
    newer = NewEvent("CartItemAdded", {"productId": CUP, "units": 2}, schema_version=3)
    item = encode_commit(f"cart-{CART}", 0, [NewEvent("CartCreated", CREATED), newer], META)
    with pytest.raises(UnreadableEvent):
        decode_commit(item, upcaster=cart_events)


def test_an_event_already_current_is_the_same_object() -> None:
    event = RecordedEvent("id", "CartCreated", "cart-x", 1, 1, NewEvent("x", {}).occurred_at, CREATED, META)
    assert upcast_event(event, cart_events) is event


def test_the_in_memory_store_upcasts_what_it_loads_and_keeps_its_commits_as_stored() -> None:
    store = InMemoryEventStore(upcaster=cart_events)
    v1_cart(store, 2)

    loaded = store.load(f"cart-{CART}")
    assert [(e.type, e.schema_version) for e in loaded] == [("CartCreated", 1), ("CartItemAdded", 2)]
    assert loaded[1].data["quantityAdded"] == 2
    assert store.commits[-1][1][0].data["quantity"] == 2  # what a stream record carries: as stored


def test_an_aggregate_stored_in_v1_loads_and_appends_v2() -> None:
    store = InMemoryEventStore(upcaster=cart_events)
    v1_cart(store, 2, 3)
    repository = Repository(store, cart_events)

    cart = repository.load(Cart, CART)
    assert (cart.version, cart.lines[CUP].quantity) == (3, 5)

    from shop.cart.domain import ListedProduct  # noqa: PLC0415

    cart.add_item(ListedProduct(CUP, "Cup", Money(amount=250, currency="EUR"), active=True), 4)
    repository.save(cart, metadata=META)
    [newest] = store.load(f"cart-{CART}", after_version=3)
    assert (newest.schema_version, newest.data["quantityAdded"]) == (2, 4)
    assert repository.load(Cart, CART).lines[CUP].quantity == 9


def test_an_aggregate_whose_history_holds_a_newer_version_does_not_load() -> None:
    store = InMemoryEventStore(upcaster=cart_events)
    v1_cart(store, 2)
    store.append(f"cart-{CART}", 2, [NewEvent("CartItemAdded", {"whatever": 1}, schema_version=3)], META)
    with pytest.raises(UnreadableEvent):
        Repository(store, cart_events).load(Cart, CART)


def test_a_projector_projects_v1_records_delivered_and_v1_events_gap_filled() -> None:
    store = InMemoryEventStore(upcaster=cart_events)
    v1_cart(store, 2, 3)
    records = [stream_record(commit, n) for n, commit in enumerate(store.commits)]
    table = InMemoryView()
    handler = projector_handler(lambda: ProjectionEngine(CartsProjection(), table, store), source=cart_events)

    # Only the last commit is delivered: the first two are read from the store (a gap fill).
    assert handler({"Records": records[2:]}, LambdaContext("CartProjector")) == {"batchItemFailures": []}
    assert handler({"Records": records}, LambdaContext("CartProjector")) == {"batchItemFailures": []}

    row = table.get({"cartId": CART})
    assert row is not None
    assert (row["version"], row["items"][0]["quantity"]) == (3, 5)


def test_a_record_of_a_newer_version_fails_its_stream_only_in_a_projector() -> None:
    store = InMemoryEventStore()
    v1_cart(store, 2)
    other = "c0ffee00-0000-4000-8000-000000000002"
    store.append(f"cart-{CART}", 2, [NewEvent("CartItemAdded", {"whatever": 1}, schema_version=3)], META)
    store.append(f"cart-{other}", 0, [NewEvent("CartCreated", {**CREATED, "cartId": other})], META)
    records = [stream_record(commit, n) for n, commit in enumerate(store.commits)]
    table = InMemoryView()
    handler = projector_handler(lambda: ProjectionEngine(CartsProjection(), table, store), source=cart_events)

    response = handler({"Records": records}, LambdaContext("CartProjector"))

    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in records[:3]]
    assert table.get({"cartId": CART}) is None
    assert table.get({"cartId": other}) is not None


class Added(DomainEvent):
    """A v2 event a policy consumes (``Added`` v1 called ``units`` ``n``)."""

    schema_version: ClassVar[int] = 2

    units: int


SOURCE = EventRegistry([Added], {(Added, 1): lambda data: {"units": data["n"]}})


class CountingPolicy:
    name = "CountingPolicy"
    handles = frozenset({"Added"})

    def __init__(self) -> None:
        self.seen: list[tuple[int, Any]] = []

    def handle(self, event: RecordedEvent) -> None:
        self.seen.append((event.schema_version, dict(event.data)))


def test_a_policy_gets_its_sources_events_at_the_current_version_and_fails_on_a_newer_one() -> None:
    store = InMemoryEventStore()
    store.append("thing-a", 0, [NewEvent("Added", {"n": 3}, schema_version=1)], META)
    store.append("thing-a", 1, [NewEvent("Added", {"units": 4}, schema_version=2)], META)
    store.append("thing-b", 0, [NewEvent("Added", {"units": 5, "more": True}, schema_version=3)], META)
    store.append("thing-c", 0, [NewEvent("Added", {"units": 6}, schema_version=2)], META)
    records = [stream_record(commit, n) for n, commit in enumerate(store.commits)]
    policy = CountingPolicy()

    handler = policy_handler(lambda: policy, source=SOURCE)
    response = handler({"Records": records}, LambdaContext("Policy"))

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        records[2]["dynamodb"]["SequenceNumber"]
    ]
    assert policy.seen == [(2, {"units": 3}), (2, {"units": 4}), (2, {"units": 6})]
    assert handler.source is SOURCE  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the wiring


def _stores_in(obj: object, depth: int = 3) -> list[Any]:
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415

    if isinstance(obj, DynamoDBEventStore):
        return [obj]
    if depth == 0 or not hasattr(obj, "__dict__"):
        return []
    return [store for value in vars(obj).values() for store in _stores_in(value, depth - 1)]


def test_every_store_the_wiring_builds_reads_through_its_own_services_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shop import runtime  # noqa: PLC0415
    from shop.cart import wiring as cart  # noqa: PLC0415
    from shop.catalog import wiring as catalog  # noqa: PLC0415
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.orders import wiring as orders  # noqa: PLC0415
    from shop.orders.events import order_events  # noqa: PLC0415

    for service in ("CATALOG", "CART", "ORDER"):
        monkeypatch.setenv(f"{service}_EVENTS_TABLE", f"{service}-events")
    for view in ("PRODUCTS", "CARTS", "ORDERS"):
        monkeypatch.setenv(f"{view}_VIEW_TABLE", f"{view}-view")
    for service in ("CATALOG", "CART"):
        monkeypatch.setenv(f"{service}_SNAPSHOTS_TABLE", f"{service}-snapshots")
    monkeypatch.setenv("CURRENCY", "EUR")
    built = {
        catalog.catalog_commands: catalog_events,
        catalog.products_projector: catalog_events,
        catalog.stock_reservations: catalog_events,
        cart.cart_commands: cart_events,
        cart.carts_projector: cart_events,
        orders.order_commands: order_events,
        orders.order_intake: order_events,
        orders.order_fulfilment: order_events,
        orders.orders_projector: order_events,
    }
    runtime.reset()
    try:
        for factory, registry in built.items():
            stores = _stores_in(factory())
            assert stores, factory
            assert all(store._upcaster is registry for store in stores), factory
    finally:
        runtime.reset()

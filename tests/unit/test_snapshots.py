"""Snapshots of carts and products (issue 11, item 4; docs/snapshots.md), over the in-memory stores.

The property: for any command history, loading through snapshots (any interval) gives the aggregate
that reading the whole stream gives, and finds the same commit for every request key. Then what is
never trusted (another schema, a corrupt state or item, another history), what never fails a
command (a snapshot that cannot be written or read), and when snapshots are taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.capacity import item_size, read_units, write_units
from shop.application import Caller, CommandContext, Repository, Snapshotting
from shop.application.repository import REQUEST_KEY_LIFETIME, REQUEST_KEY_WINDOW
from shop.cart.commands import AddCartItem, CartCommands, CreateCart, SetCartItemQuantity
from shop.cart.domain import MAX_LINE_QUANTITY, MAX_LINES, Cart, CartState, ListedProduct
from shop.cart.events import cart_events
from shop.catalog.commands import CatalogCommands, ChangeProductDetails, CreateProduct, ReceiveStock
from shop.catalog.domain import Product, Stock
from shop.catalog.events import catalog_events
from shop.domain.aggregate import Aggregate, UnreadableState
from shop.domain.money import MAX_PRICE, Money, Price
from shop.errors import ShopError
from shop.eventstore.dynamodb_snapshots import encode_snapshot
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, RecordedEvent
from shop.eventstore.snapshots import InMemorySnapshotStore, Snapshot, UnreadableSnapshot
from shop.http.idempotency import EXPIRES_AFTER_SECONDS

ALICE = Caller("alice")
ADMIN = Caller("staff-1", frozenset({"admin"}))
PRODUCTS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]
KEYS = [None, None, "k1", "k2", "k3"]  # most commands unkeyed; a key used twice is a retry


class RecordingStore(InMemoryEventStore):
    """Remembers where each load started (``after_version``)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, int]] = []

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        self.loads.append((stream_id, after_version))
        return super().load(stream_id, after_version)


class Listed:
    def find(self, product_id: str) -> ListedProduct | None:
        index = PRODUCTS.index(product_id) if product_id in PRODUCTS else -1
        if index < 0:
            return None
        return ListedProduct(
            product_id, f"Product {index}", Money(amount=100 * (index + 1), currency="EUR"), True
        )


def context(caller: Caller, key: str | None) -> CommandContext:
    return CommandContext("corr", "req", caller=caller, request_key=key)


class Pair:
    """One store read two ways: through snapshots (which the commands use) and from the start."""

    def __init__(self, registry: Any, every: int, clock: Callable[[], datetime] | None = None) -> None:
        self.store = RecordingStore()
        self.snapshots = InMemorySnapshotStore()
        more = {"clock": clock} if clock else {}
        self.snapshotting = Repository(
            self.store, registry, snapshots=Snapshotting(self.snapshots, every), **more
        )
        self.plain = Repository(self.store, registry, **more)

    def assert_same(self, cls: type[Aggregate], aggregate_id: str) -> Aggregate:
        for key in {k for k in KEYS if k}:
            via_snapshot, made = self.snapshotting.load_with_request(cls, aggregate_id, key)
            snapshot = self.snapshots.get(cls.stream_id_for(aggregate_id))
            expected_start = snapshot.commit_version - 1 if snapshot else 0
            assert self.store.loads[-1] == (cls.stream_id_for(aggregate_id), expected_start)  # it was used
            from_start, made_from_start = self.plain.load_with_request(cls, aggregate_id, key)
            assert vars(via_snapshot) == vars(from_start)
            assert made == made_from_start, key
        return via_snapshot


cart_operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "set", "remove", "add_two", "checkout"]),
        st.integers(0, 2),
        st.integers(0, 4),
        st.sampled_from(KEYS),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(every=st.integers(1, 7), operations=cart_operations, create_key=st.sampled_from(KEYS))
def test_a_cart_loads_the_same_with_and_without_snapshots(
    every: int, operations: list[tuple[str, int, int, str | None]], create_key: str | None
) -> None:
    pair = Pair(cart_events, every)
    carts = CartCommands(pair.snapshotting, Listed(), "EUR")
    cart_id = carts.create_cart(CreateCart(), context(ALICE, create_key)).aggregate_id
    for kind, index, quantity, key in operations:
        product, ctx = PRODUCTS[index], context(ALICE, key)
        try:
            match kind:
                case "add":
                    carts.add_item(cart_id, AddCartItem(product_id=product, quantity=quantity + 1), ctx)
                case "set":
                    carts.set_quantity(cart_id, product, SetCartItemQuantity(quantity=quantity), ctx)
                case "remove":
                    carts.remove_item(cart_id, product, ctx)
                case "checkout":
                    carts.check_out(cart_id, ctx)
                case "add_two":  # one commit of two events, which may cross a boundary midway
                    cart = pair.snapshotting.load(Cart, cart_id)
                    listed = Listed().find(product)
                    assert listed is not None
                    cart.add_item(listed, 1)
                    cart.add_item(listed, quantity + 1)
                    pair.snapshotting.save(cart, metadata=ctx.metadata)
        except ShopError:
            pass
        pair.assert_same(Cart, cart_id)
    cart = pair.assert_same(Cart, cart_id)
    assert (pair.snapshots.get(cart.stream_id) is not None) == (cart.version >= every)


product_operations = st.lists(
    st.tuples(
        st.sampled_from(["rename", "describe", "recategorise", "price", "receive", "discontinue"]),
        st.integers(0, 3),
        st.sampled_from(KEYS),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(every=st.integers(1, 6), operations=product_operations, create_key=st.sampled_from(KEYS))
def test_a_product_loads_the_same_with_and_without_snapshots(
    every: int, operations: list[tuple[str, int, str | None]], create_key: str | None
) -> None:
    pair = Pair(catalog_events, every)
    catalog = CatalogCommands(pair.snapshotting, "EUR")
    create = CreateProduct(
        sku="MUG-1", name="Mug", category="kitchen", price=Price(amount=100, currency="EUR")
    )
    product_id = catalog.create_product(create, context(ADMIN, create_key)).aggregate_id
    for kind, n, key in operations:
        ctx = context(ADMIN, key)
        try:
            match kind:
                case "rename":
                    catalog.change_details(product_id, ChangeProductDetails(name=f"Mug {n}"), ctx)
                case "describe":
                    catalog.change_details(product_id, ChangeProductDetails(description=f"{n}" * n), ctx)
                case "recategorise":
                    catalog.change_details(product_id, ChangeProductDetails(category=f"cat-{n}"), ctx)
                case "price":
                    catalog.change_price(product_id, Price(amount=100 + n, currency="EUR"), ctx)
                case "receive":  # loads the product (through its snapshot) as a guard
                    catalog.receive_stock(product_id, ReceiveStock(quantity=n + 1), ctx)
                case "discontinue":
                    catalog.discontinue(product_id, ctx)
        except ShopError:
            pass
        pair.assert_same(Product, product_id)
    product = pair.assert_same(Product, product_id)
    assert (pair.snapshots.get(product.stream_id) is not None) == (product.version >= every)


# ---------------------------------------------------------------------- fixtures for the examples
META = EventMetadata("corr", "req", "alice")
MUG = ListedProduct(PRODUCTS[1], "Mug", Money(amount=1000, currency="EUR"), active=True)


def cart_with(pair: Pair, events: int, key: str | None = None) -> str:
    """A cart of ``events`` events (created, then added to), each its own commit."""
    carts = CartCommands(pair.snapshotting, Listed(), "EUR")
    cart_id = carts.create_cart(CreateCart(), context(ALICE, key)).aggregate_id
    for _ in range(events - 1):
        carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=1), context(ALICE, None))
    return cart_id


def stored_snapshot(pair: Pair, cart_id: str) -> Snapshot:
    snapshot = pair.snapshots.get(f"cart-{cart_id}")
    assert snapshot is not None
    return snapshot


def replace_snapshot(pair: Pair, snapshot: Snapshot) -> None:
    pair.snapshots._snapshots[snapshot.stream_id] = snapshot  # as a broken writer would have left it


# ---------------------------------------------------------------------- what is never trusted
@pytest.mark.parametrize("schema", [0, 2, 99])
def test_a_snapshot_of_another_schema_is_ignored_and_the_whole_stream_loaded(schema: int) -> None:
    pair = Pair(cart_events, every=5)
    cart_id = cart_with(pair, 7)
    snapshot = stored_snapshot(pair, cart_id)
    # Had it been trusted, it would make a checked-out cart of bob's with no lines.
    forged_state = {**snapshot.state, "customerId": "bob", "checkedOut": True, "lines": []}
    replace_snapshot(pair, replace(snapshot, schema_version=schema, state=forged_state))

    cart = pair.snapshotting.load(Cart, cart_id)

    assert pair.store.loads[-1] == (f"cart-{cart_id}", 0)
    assert vars(cart) == vars(pair.plain.load(Cart, cart_id))
    assert (cart.customer_id, cart.checked_out, cart.lines[PRODUCTS[0]].quantity) == ("alice", False, 6)


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"customerId": "alice"},
        {"customerId": "alice", "currency": "EUR", "lines": [], "checkedOut": "yes", "orderId": None},
        {
            "customerId": "alice",
            "currency": "EUR",
            "lines": [{"productId": "p"}],
            "checkedOut": False,
            "orderId": None,
        },
        {
            "customerId": "alice",
            "currency": "EUR",
            "lines": [],
            "checkedOut": False,
            "orderId": None,
            "more": 1,
        },
        {"customer_id": 7},
    ],
    ids=["empty", "partial", "flag as text", "line without fields", "unknown field", "wrong type"],
)
def test_a_corrupt_state_of_the_right_schema_is_ignored(state: dict[str, Any]) -> None:
    pair = Pair(cart_events, every=5)
    cart_id = cart_with(pair, 6)
    replace_snapshot(pair, replace(stored_snapshot(pair, cart_id), state=state))

    cart = pair.snapshotting.load(Cart, cart_id)

    assert pair.store.loads[-1] == (f"cart-{cart_id}", 0)
    assert vars(cart) == vars(pair.plain.load(Cart, cart_id))


@pytest.mark.parametrize(
    "change",
    [
        {
            "last_event_id": "not-the-event-at-that-version"
        },  # the stream was reset or restored, then rewritten
        {"version": 60, "commit_version": 60},  # beyond the stream (a restored, shorter store)
        {"commit_version": 0},
        {"commit_version": 6, "version": 5},
        {"stream_id": "cart-someone-else"},
    ],
    ids=["another event there", "beyond the stream", "no commit", "inverted", "another stream"],
)
def test_a_snapshot_of_another_history_is_ignored(change: dict[str, Any]) -> None:
    pair = Pair(cart_events, every=5)
    cart_id = cart_with(pair, 7)
    snapshot = stored_snapshot(pair, cart_id)
    forged_state = {**snapshot.state, "customerId": "bob"}
    replace_snapshot(pair, replace(snapshot, state=forged_state, **change))

    cart = pair.snapshotting.load(Cart, cart_id)

    assert vars(cart) == vars(pair.plain.load(Cart, cart_id))
    assert cart.customer_id == "alice"


class BrokenStore(InMemorySnapshotStore):
    def __init__(self, error: Exception, *, on_get: bool = False, on_put: bool = False) -> None:
        super().__init__()
        self.error, self.on_get, self.on_put = error, on_get, on_put
        self.puts = 0

    def get(self, stream_id: str) -> Snapshot | None:
        if self.on_get:
            raise self.error
        return super().get(stream_id)

    def put(self, snapshot: Snapshot) -> None:
        self.puts += 1
        if self.on_put:
            raise self.error
        super().put(snapshot)


@pytest.mark.parametrize("error", [UnreadableSnapshot("corrupt item"), ConnectionError("timed out")])
def test_a_snapshot_that_cannot_be_read_is_ignored(error: Exception) -> None:
    pair = Pair(cart_events, every=5)
    cart_id = cart_with(pair, 7)
    broken = BrokenStore(error, on_get=True)
    repository = Repository(pair.store, cart_events, snapshots=Snapshotting(broken, 5))

    cart = repository.load(Cart, cart_id)

    assert pair.store.loads[-1] == (f"cart-{cart_id}", 0)
    assert vars(cart) == vars(pair.plain.load(Cart, cart_id))


# ---------------------------------------------------------------------- what never fails a command
@pytest.mark.parametrize("error", [ConnectionError("throttled"), ValueError("item too large")])
def test_a_snapshot_write_that_fails_does_not_fail_the_command(error: Exception) -> None:
    store, broken = InMemoryEventStore(), BrokenStore(error, on_put=True)
    carts = CartCommands(Repository(store, cart_events, snapshots=Snapshotting(broken, 2)), Listed(), "EUR")
    cart_id = carts.create_cart(CreateCart(), context(ALICE, None)).aggregate_id

    result = carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=3), context(ALICE, None))

    assert (result.version, result.changed) == (2, True)
    assert broken.puts == 1  # it was tried, at the boundary
    assert [e.type for e in store.load(f"cart-{cart_id}")] == ["CartCreated", "CartItemAdded"]
    assert broken.get(f"cart-{cart_id}") is None
    again = carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=1), context(ALICE, None))
    assert again.version == 3  # and the next command loads the whole stream


# ---------------------------------------------------------------------- when a snapshot is taken
def test_a_snapshot_is_taken_when_a_save_crosses_a_multiple_of_every() -> None:
    pair = Pair(cart_events, every=3)
    cart_id = cart_with(pair, 2)
    assert pair.snapshots.get(f"cart-{cart_id}") is None

    cart = pair.snapshotting.load(Cart, cart_id)
    cart.add_item(MUG, 1)
    cart.add_item(MUG, 2)  # versions 3 and 4, one commit: crosses 3
    pair.snapshotting.save(cart, metadata=META)

    snapshot = stored_snapshot(pair, cart_id)
    events = pair.store.load(f"cart-{cart_id}")
    assert (snapshot.version, snapshot.commit_version, snapshot.last_event_id) == (4, 3, events[-1].event_id)
    assert snapshot.schema_version == Cart.snapshot_schema == 1
    assert snapshot.state == cart.snapshot_state()
    assert CartState.model_validate(snapshot.state).lines[-1].quantity == 3

    cart.add_item(MUG, 1)  # 5: no boundary
    pair.snapshotting.save(cart, metadata=META)
    assert stored_snapshot(pair, cart_id).version == 4


def test_loading_from_a_snapshot_reads_only_its_last_commit_and_what_follows() -> None:
    pair = Pair(cart_events, every=5)
    cart_id = cart_with(pair, 7)

    pair.snapshotting.load(Cart, cart_id)

    assert pair.store.loads[-1] == (f"cart-{cart_id}", 4)  # the commit of version 5, then 6 and 7


def test_aggregates_that_are_not_snapshotted_never_touch_the_snapshot_store() -> None:
    store, snapshots = InMemoryEventStore(), BrokenStore(AssertionError("touched"), on_get=True, on_put=True)
    catalog = CatalogCommands(Repository(store, catalog_events, snapshots=Snapshotting(snapshots, 1)), "EUR")
    product = PRODUCTS[0]
    seed = Repository(store, catalog_events)
    seed.save(
        Product.create(product, sku="A", name="A", description="", category="c", price=Money.zero("EUR")),
        metadata=META,
    )
    ctx = context(ADMIN, None)

    for _ in range(3):
        catalog.receive_stock(product, ReceiveStock(quantity=1), ctx)  # a snapshotted guard: its get fails

    assert Stock.snapshot_schema is None
    assert snapshots.puts == 0
    assert Repository(store, catalog_events).load(Stock, product).available == 3


def test_a_save_of_a_history_this_repository_did_not_load_takes_no_snapshot() -> None:
    """Its keyed commits are unknown, and a snapshot must carry them: it is left to the next one."""
    pair = Pair(cart_events, every=2)
    cart_id = cart_with(pair, 1)
    cart = pair.plain.load(Cart, cart_id)  # another repository's load
    cart.add_item(MUG, 1)
    pair.snapshotting.save(cart, metadata=META)
    assert pair.snapshots.get(f"cart-{cart_id}") is None


def test_snapshotting_every_zero_events_is_refused() -> None:
    with pytest.raises(ValueError, match="every 1 or more"):
        Snapshotting(InMemorySnapshotStore(), 0)


# ---------------------------------------------------------------------- request keys behind a snapshot
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_retry_finds_its_commit_behind_a_snapshot_and_appends_nothing() -> None:
    """docs/idempotency.md: a second run of a keyed request (its first run died after appending) is
    answered from the commit it left, even when snapshots were taken after that commit."""
    pair = Pair(cart_events, every=3)
    carts = CartCommands(pair.snapshotting, Listed(), "EUR")
    cart_id = cart_with(pair, 1, key="create")
    first = carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=2), context(ALICE, "k1"))
    for _ in range(5):
        carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[1], quantity=1), context(ALICE, None))
    assert stored_snapshot(pair, cart_id).version == 6 > first.version == 2
    assert set(stored_snapshot(pair, cart_id).requests) == {"create", "k1"}

    again = carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=2), context(ALICE, "k1"))
    created = carts.create_cart(CreateCart(), context(ALICE, "create"))

    assert (again.version, again.replayed) == (2, True)
    assert (created.aggregate_id, created.version, created.replayed) == (cart_id, 1, True)
    assert pair.store.loads[-1][1] > 0  # answered through the snapshot, not a whole-stream load
    assert len(pair.store.load(f"cart-{cart_id}")) == 7


def test_a_snapshot_keeps_request_keys_for_longer_than_an_idempotency_record_lives() -> None:
    assert timedelta(seconds=EXPIRES_AFTER_SECONDS) < REQUEST_KEY_WINDOW


def test_request_keys_older_than_the_window_are_dropped_from_later_snapshots() -> None:
    """Past the window the key's answer has expired (a new request, docs/idempotency.md), so a
    snapshot need not carry it: snapshots stay small however many keyed commits a stream had."""
    clock = Clock()
    pair = Pair(cart_events, every=2, clock=clock)
    carts = CartCommands(pair.snapshotting, Listed(), "EUR")
    cart_id = cart_with(pair, 1, key="old")
    clock.now += REQUEST_KEY_WINDOW  # still inside: kept
    carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=1), context(ALICE, "recent"))
    assert set(stored_snapshot(pair, cart_id).requests) == {"old", "recent"}

    clock.now += timedelta(seconds=1)
    for _ in range(2):
        carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=1), context(ALICE, None))

    assert set(stored_snapshot(pair, cart_id).requests) == {"recent"}
    assert pair.snapshotting.load_with_request(Cart, cart_id, "recent")[1] == 2
    assert pair.snapshotting.load_with_request(Cart, cart_id, "old")[1] is None
    # Still in the stream, but past the key's lifetime: it names no request any more, either way.
    assert pair.plain.load_with_request(Cart, cart_id, "old")[1] is None
    assert pair.plain.load_with_request(Cart, cart_id, "recent")[1] == 2


def test_a_commit_answers_for_its_key_within_the_key_s_lifetime_only_with_or_without_snapshots() -> None:
    clock = Clock()
    pair = Pair(cart_events, every=2, clock=clock)
    carts = CartCommands(pair.snapshotting, Listed(), "EUR")
    cart_id = cart_with(pair, 1, key="k")
    for _ in range(2):  # a snapshot now holds the keyed commit
        carts.add_item(cart_id, AddCartItem(product_id=PRODUCTS[0], quantity=1), context(ALICE, None))
    clock.now += REQUEST_KEY_LIFETIME - timedelta(seconds=1)
    assert pair.snapshotting.load_with_request(Cart, cart_id, "k")[1] == 1
    assert pair.plain.load_with_request(Cart, cart_id, "k")[1] == 1
    clock.now += timedelta(seconds=1)
    assert pair.snapshotting.load_with_request(Cart, cart_id, "k")[1] is None
    assert pair.plain.load_with_request(Cart, cart_id, "k")[1] is None


# ---------------------------------------------------------------------- the domain's side
def test_a_cart_s_state_round_trips_through_plain_json() -> None:
    cart = Cart.create("c1", "alice", "EUR")
    cart.add_item(MUG, 2)
    cart.check_out("o1")
    cart.mark_committed(3)

    restored = Cart.from_snapshot("c1", cart.snapshot_state(), 3)

    assert vars(restored) == vars(cart)
    assert cart.snapshot_state() == {
        "customerId": "alice",
        "currency": "EUR",
        "lines": [
            {
                "productId": MUG.product_id,
                "name": "Mug",
                "quantity": 2,
                "unitPrice": {"amount": 1000, "currency": "EUR"},
            }
        ],
        "checkedOut": True,
        "orderId": "o1",
    }


def test_a_product_s_state_round_trips_through_plain_json() -> None:
    product = Product.create(
        "p1", sku="A-1", name="A", description="d", category="c", price=Money.zero("EUR")
    )
    product.change_price(Money(amount=5, currency="EUR"))
    product.discontinue()
    product.mark_committed(3)

    assert vars(Product.from_snapshot("p1", product.snapshot_state(), 3)) == vars(product)


@pytest.mark.parametrize(
    "state",
    [
        {"sku": "A", "name": "A", "description": "", "category": "c", "price": None, "discontinued": "no"},
        {
            "sku": "A",
            "name": "A",
            "description": "",
            "category": "c",
            "price": {"amount": "5", "currency": "EUR"},
        },
        [],
        None,
    ],
)
def test_a_state_that_is_not_a_product_s_is_unreadable(state: Any) -> None:
    with pytest.raises(UnreadableState):
        Product.from_snapshot("p1", state, 3)


def test_the_largest_cart_snapshot_is_the_size_docs_snapshots_md_states() -> None:
    """50 lines (the most), 200-character names, the highest price and quantity: 17 WCU to write,
    2.5 RCU to read (eventually consistent), far below DynamoDB's 400 KB item."""
    cart = Cart.create(str(uuid.uuid4()), "c" * 36, "EUR")
    for _ in range(MAX_LINES):
        listed = ListedProduct(str(uuid.uuid4()), "N" * 200, Money(amount=MAX_PRICE, currency="EUR"), True)
        cart.add_item(listed, MAX_LINE_QUANTITY)
    snapshot = Snapshot(cart.stream_id, 51, 51, str(uuid.uuid4()), 1, cart.snapshot_state(), Clock()(), {})

    size = item_size(encode_snapshot(snapshot))

    assert (write_units(size), read_units(size, consistent=False)) == (17, 2.5)


def test_an_aggregate_without_a_snapshot_schema_restores_nothing() -> None:
    with pytest.raises(UnreadableState):
        Stock.from_snapshot("s1", {"available": 3}, 1)

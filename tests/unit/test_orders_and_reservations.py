"""Order rules, and the three policies of the checkout, over in-memory event stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shop.application import Repository
from shop.catalog.domain import ReservationState, Stock, StockReservation
from shop.catalog.events import catalog_events
from shop.catalog.policies import StockReservationPolicy
from shop.domain.money import Money
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamWrite
from shop.orders.domain import Order, OrderNotCancellable, OrderStatus
from shop.orders.events import OrderLine, order_events
from shop.orders.policies import OrderFulfilmentPolicy, OrderIntakePolicy

META = EventMetadata("corr", "cause", "someone")
CUP, MUG = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
ORDER = "00000000-0000-4000-8000-0000000000aa"


def recorded(kind: str, data: dict[str, Any], stream: str = "s", version: int = 1) -> RecordedEvent:
    return RecordedEvent(
        f"evt-{kind}-{version}", kind, stream, version, 1, datetime(2026, 1, 1, tzinfo=UTC), data, META
    )


def line(product: str, quantity: int, name: str = "Thing") -> dict[str, Any]:
    return {
        "productId": product,
        "name": name,
        "quantity": quantity,
        "unitPrice": {"amount": 100, "currency": "EUR"},
    }


class Checkout:
    """The three policies wired to a Catalog store and an Orders store, delivering events by hand."""

    def __init__(self) -> None:
        self.catalog = InMemoryEventStore()
        self.orders = InMemoryEventStore()
        self.catalog_repo = Repository(self.catalog, catalog_events)
        self.orders_repo = Repository(self.orders, order_events)
        self.intake = OrderIntakePolicy(self.orders_repo)
        self.reservations = StockReservationPolicy(self.catalog_repo)
        self.fulfilment = OrderFulfilmentPolicy(self.orders_repo)

    def stock(self, product: str, units: int) -> None:
        stock = Stock(product)
        stock.receive(units)
        self.catalog_repo.save(stock, metadata=META)

    def available(self, product: str) -> int:
        return self.catalog_repo.load(Stock, product).available

    def check_out(self, order_id: str, *lines: dict[str, Any]) -> RecordedEvent:
        event = recorded(
            "CartCheckedOut",
            {
                "cartId": "cart-1",
                "orderId": order_id,
                "customerId": "alice",
                "lines": list(lines),
                "total": {"amount": 1, "currency": "EUR"},
            },
        )
        self.intake.handle(event)
        return event

    def deliver_orders(self) -> None:
        for _, events in list(self.orders.commits):
            for event in events:
                if event.type in self.reservations.handles:
                    self.reservations.handle(event)

    def deliver_catalog(self) -> None:
        for _, events in list(self.catalog.commits):
            for event in events:
                if event.type in self.fulfilment.handles:
                    self.fulfilment.handle(event)

    def order(self, order_id: str) -> Order:
        return self.orders_repo.load(Order, order_id)


@pytest.fixture
def shop() -> Checkout:
    return Checkout()


def placed_order() -> Order:
    one = Money(amount=1, currency="EUR")
    line = OrderLine(product_id=CUP, name="Cup", quantity=1, unit_price=one)
    return Order.place(ORDER, cart_id="c", customer_id="a", lines=[line], total=one, placed_at="t")


def test_order_lifecycle_rules() -> None:
    order = placed_order()
    assert order.status is OrderStatus.PENDING
    order.confirm()
    order.confirm()  # redelivery: no second event
    order.reject("late", [])  # a decided order stays decided
    assert [type(e).__name__ for e in order.pending_events] == ["OrderPlaced", "OrderConfirmed"]
    order.cancel()
    with pytest.raises(OrderNotCancellable):
        order.cancel()


def test_a_rejected_order_cannot_be_cancelled() -> None:
    order = placed_order()
    order.reject("short", [])
    with pytest.raises(OrderNotCancellable):
        order.cancel()


def test_checkout_confirms_when_every_line_is_available(shop: Checkout) -> None:
    shop.stock(CUP, 5)
    shop.stock(MUG, 2)
    shop.check_out(ORDER, line(CUP, 3), line(MUG, 2))
    shop.deliver_orders()
    shop.deliver_catalog()

    assert shop.order(ORDER).status is OrderStatus.CONFIRMED
    assert (shop.available(CUP), shop.available(MUG)) == (2, 0)
    assert shop.catalog_repo.load(StockReservation, ORDER).state is ReservationState.CONFIRMED


def test_checkout_rejects_naming_the_short_products_and_reserves_nothing(shop: Checkout) -> None:
    shop.stock(CUP, 5)
    shop.stock(MUG, 1)
    shop.check_out(
        ORDER,
        line(CUP, 3, "Cup"),
        line(MUG, 2, "Mug"),
        line("00000000-0000-4000-8000-0000000000ee", 1, "Ghost"),
    )
    shop.deliver_orders()
    shop.deliver_catalog()

    order = shop.order(ORDER)
    assert order.status is OrderStatus.REJECTED
    rejected = shop.orders.load(f"order-{ORDER}")[-1]
    assert (
        rejected.data["reason"]
        == "Not enough stock for: Mug (requested 2, available 1); Ghost (requested 1, available 0)"
    )
    assert [p["productId"] for p in rejected.data["shortProducts"]] == [
        MUG,
        "00000000-0000-4000-8000-0000000000ee",
    ]
    assert (shop.available(CUP), shop.available(MUG)) == (5, 1)


def test_cancelling_a_confirmed_order_releases_its_stock(shop: Checkout) -> None:
    shop.stock(CUP, 5)
    shop.check_out(ORDER, line(CUP, 3))
    shop.deliver_orders()
    shop.deliver_catalog()
    order = shop.order(ORDER)
    order.cancel()
    shop.orders_repo.save(order, metadata=META)
    shop.deliver_orders()

    assert shop.available(CUP) == 5
    assert shop.catalog_repo.load(StockReservation, ORDER).state is ReservationState.RELEASED


def test_a_cancellation_seen_before_the_placement_voids_the_reservation(shop: Checkout) -> None:
    shop.stock(CUP, 5)
    shop.reservations.handle(recorded("OrderCancelled", {"orderId": ORDER}))
    shop.reservations.handle(recorded("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, 3)]}))

    assert shop.catalog_repo.load(StockReservation, ORDER).state is ReservationState.VOIDED
    assert shop.available(CUP) == 5


def test_every_policy_is_idempotent_under_redelivery(shop: Checkout) -> None:
    shop.stock(CUP, 5)
    checked_out = shop.check_out(ORDER, line(CUP, 3))
    for _ in range(3):
        shop.intake.handle(checked_out)
        shop.deliver_orders()
        shop.deliver_catalog()

    assert [e.type for e in shop.orders.load(f"order-{ORDER}")] == ["OrderPlaced", "OrderConfirmed"]
    assert [e.type for e in shop.catalog.load(f"stock-{CUP}")] == ["StockReceived", "StockReserved"]
    assert [e.type for e in shop.catalog.load(f"reservation-{ORDER}")] == ["StockReservationConfirmed"]


def test_policy_commands_carry_the_correlation_and_are_caused_by_the_event(shop: Checkout) -> None:
    checked_out = shop.check_out(ORDER, line(CUP, 1))
    [placed] = shop.orders.load(f"order-{ORDER}")
    assert placed.metadata == EventMetadata(
        checked_out.metadata.correlation_id, checked_out.event_id, checked_out.metadata.actor
    )


def test_reservations_retry_lost_races_and_never_oversell(shop: Checkout) -> None:
    """A competing reservation commits between this policy's load and its write, every time it can."""
    shop.stock(CUP, 3)
    real_append_all = shop.catalog.append_all
    competitors = iter(range(2))

    def racing_append_all(writes: Any, metadata: EventMetadata, **checks: Any) -> None:
        competitor = next(competitors, None)
        if competitor is not None:  # someone else reserves 1 unit first
            version = len(shop.catalog.load(f"stock-{CUP}"))
            reserved = NewEvent(
                "StockReserved", {"productId": CUP, "quantity": 1, "orderId": f"other-{competitor}"}
            )
            real_append_all([StreamWrite(f"stock-{CUP}", version, [reserved])], META)
        real_append_all(writes, metadata, **checks)

    shop.catalog.append_all = racing_append_all  # type: ignore[method-assign]
    shop.reservations.handle(recorded("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, 2)]}))

    assert shop.catalog_repo.load(StockReservation, ORDER).state is ReservationState.REJECTED
    assert shop.available(CUP) == 1


def test_the_store_rejects_a_commit_size_no_cart_can_reach() -> None:
    from shop.cart.domain import MAX_LINES  # noqa: PLC0415
    from shop.eventstore.store import MAX_EVENTS_PER_COMMIT  # noqa: PLC0415

    assert MAX_LINES + 1 <= MAX_EVENTS_PER_COMMIT
    assert NewEvent("x", {}).schema_version == 1


def test_a_reservation_that_keeps_losing_gives_up_within_its_time_budget(
    shop: Checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a clock of its own: every pause takes its longest jittered value and costs no real time."""
    from types import SimpleNamespace  # noqa: PLC0415

    from shop.application import retry  # noqa: PLC0415
    from shop.errors import ConcurrencyConflict  # noqa: PLC0415
    from shop.eventstore.store import ConcurrencyError  # noqa: PLC0415

    clock = SimpleNamespace(now=100.0)

    def sleep(seconds: float) -> None:
        clock.now += seconds

    monkeypatch.setattr(retry, "time", SimpleNamespace(sleep=sleep, monotonic=lambda: clock.now))
    monkeypatch.setattr(retry, "random", SimpleNamespace(uniform=lambda _low, high: high))
    shop.stock(CUP, 3)
    attempts = []

    def always_stale(writes: Any, metadata: EventMetadata, **_: Any) -> None:
        attempts.append(clock.now)
        raise ConcurrencyError([w.stream_id for w in writes])

    shop.catalog.append_all = always_stale  # type: ignore[method-assign]
    policy = StockReservationPolicy(shop.catalog_repo, retries=1000, time_budget=0.3)
    with pytest.raises(ConcurrencyConflict):
        policy.handle(recorded("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, 1)]}))

    # Pauses of 10, 20, 40, 80 and 160 ms: the sixth attempt starts past the budget and is the last.
    assert [round(t - 100.0, 3) for t in attempts] == [0.0, 0.01, 0.03, 0.07, 0.15, 0.31]
    assert clock.now - 100.0 <= 0.3 + retry.MAX_BACKOFF  # the budget plus at most one capped pause


def caused_by(kind: str, data: dict[str, Any], n: int) -> RecordedEvent:
    return RecordedEvent(
        f"trigger-{n}",
        kind,
        "s",
        n,
        1,
        datetime(2026, 1, 1, tzinfo=UTC),
        data,
        EventMetadata(f"corr-{n}", "x", f"customer-{n}"),
    )


def written_since(store: InMemoryEventStore, start: int) -> list[RecordedEvent]:
    return [event for _, events in store.commits[start:] for event in events]


@pytest.mark.parametrize("outcome", ["confirmed", "rejected", "released", "voided"])
def test_every_event_a_policy_writes_is_caused_by_the_event_it_handled(shop: Checkout, outcome: str) -> None:
    """Correlation and actor carried over, causation the triggering event's id: on every path of every
    policy."""
    shop.stock(CUP, 5)
    quantity = 9 if outcome == "rejected" else 2
    trigger = caused_by("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, quantity)]}, 1)
    if outcome == "voided":
        trigger = caused_by("OrderCancelled", {"orderId": ORDER}, 1)
    start = len(shop.catalog.commits)
    shop.reservations.handle(trigger)
    if outcome == "released":
        trigger = caused_by("OrderCancelled", {"orderId": ORDER}, 2)
        start = len(shop.catalog.commits)
        shop.reservations.handle(trigger)

    written = written_since(shop.catalog, start)
    assert written
    assert {e.metadata for e in written} == {
        EventMetadata(trigger.metadata.correlation_id, trigger.event_id, trigger.metadata.actor)
    }

    if outcome in {"confirmed", "rejected"}:
        [outcome_event] = [e for e in written if e.type in shop.fulfilment.handles]
        start = len(shop.orders.commits)
        shop.orders_repo.save(placed_order(), metadata=META)
        shop.fulfilment.handle(outcome_event)
        [settled] = written_since(shop.orders, start + 1)
        assert settled.type == ("OrderConfirmed" if outcome == "confirmed" else "OrderRejected")
        assert settled.metadata == EventMetadata(
            outcome_event.metadata.correlation_id, outcome_event.event_id, trigger.metadata.actor
        )


def test_a_reservation_gives_up_after_its_retries(shop: Checkout, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from shop.application import retry  # noqa: PLC0415
    from shop.errors import ConcurrencyConflict  # noqa: PLC0415
    from shop.eventstore.store import ConcurrencyError  # noqa: PLC0415

    monkeypatch.setattr(retry, "time", SimpleNamespace(sleep=lambda _: None, monotonic=lambda: 0.0))
    shop.stock(CUP, 3)
    attempts = []

    def always_stale(writes: Any, metadata: EventMetadata, **_: Any) -> None:
        attempts.append(1)
        raise ConcurrencyError([w.stream_id for w in writes])

    shop.catalog.append_all = always_stale  # type: ignore[method-assign]
    policy = StockReservationPolicy(shop.catalog_repo, retries=2, time_budget=3600)
    with pytest.raises(ConcurrencyConflict) as gave_up:
        policy.handle(recorded("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, 1)]}))
    assert len(attempts) == 3
    assert gave_up.value.detail == (
        f"StockReservationPolicy: the stock of order {ORDER} was changed by concurrent requests 3 times;"
        " try again."
    )


def test_a_pause_ending_exactly_at_the_budget_ends_the_retries(
    shop: Checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from shop.application import retry  # noqa: PLC0415
    from shop.errors import ConcurrencyConflict  # noqa: PLC0415
    from shop.eventstore.store import ConcurrencyError  # noqa: PLC0415

    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(
        retry,
        "time",
        SimpleNamespace(sleep=lambda s: setattr(clock, "now", clock.now + s), monotonic=lambda: clock.now),
    )
    monkeypatch.setattr(retry, "random", SimpleNamespace(uniform=lambda _low, high: high))
    shop.stock(CUP, 3)
    attempts = []

    def always_stale(writes: Any, metadata: EventMetadata, **_: Any) -> None:
        attempts.append(clock.now)
        raise ConcurrencyError([w.stream_id for w in writes])

    shop.catalog.append_all = always_stale  # type: ignore[method-assign]
    policy = StockReservationPolicy(shop.catalog_repo, retries=100, time_budget=0.01 + 0.02)
    with pytest.raises(ConcurrencyConflict):
        policy.handle(recorded("OrderPlaced", {"orderId": ORDER, "lines": [line(CUP, 1)]}))
    assert attempts == [0.0, 0.01, 0.01 + 0.02]

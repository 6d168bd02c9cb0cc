"""Parking and redrive on the whole template, in process: the event source mapping gives up on a
poison record, sends its on-failure record to the consumer's queue, the consumer's ParkFailures
event parks it (reading the record back from the stream), later records of that stream park
behind it, and a redrive after the fix ends with the read tables a clean replay gives
(tests/support/replay.py)."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.functions import load_handler
from shop.catalog.policies import StockReservationPolicy
from shop.catalog.projection import ProductsProjection
from shop.eventstore.model import RecordedEvent
from shop.operations.parking import NotParked, ParkingLot, redrive
from shop.streams import StreamConsumer
from tests.integration.test_checkout_flow import cart, order, product
from tests.support.replay import check, read_snapshot


class Poison(Exception):
    """The bug: what the consumer raises on the poison record until it is fixed."""


@pytest.fixture
def poisoned_projection(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """ProductsProjection refuses any event of a product named "Poison ..." (a projection bug);
    ``undo()`` is the fix."""
    apply = ProductsProjection.apply

    def refusing(self: ProductsProjection, row: Any, event: RecordedEvent) -> Any:
        if str(event.data.get("name", row.get("name", ""))).startswith("Poison"):
            raise Poison(f"{event.stream_id} v{event.version}")
        return apply(self, row, event)

    monkeypatch.setattr(ProductsProjection, "apply", refusing)
    return monkeypatch


def consumer(stack: Any, function: str) -> StreamConsumer:
    """The consumer's batch code, as its Lambda handler holds it (the module the stack runs)."""
    handler = load_handler(stack.template.functions[function])
    found: StreamConsumer = handler.consumer
    return found


def lot(stack: Any, function: str) -> ParkingLot:
    return consumer(stack, function).parking()


def test_a_poison_event_is_parked_later_ones_park_behind_it_and_a_redrive_after_the_fix_replays_clean(
    stack: Any, poisoned_projection: pytest.MonkeyPatch
) -> None:
    mug = product(stack, "MUG", "Mug", 1200, 0)
    pill = product(stack, "PILL", "Poison pill", 100, 0)
    stack.pump()

    parked = lot(stack, "CatalogProjector").streams()
    assert [(p.stream_id, [r.version for r in p.records]) for p in parked] == [(f"product-{pill}", [1])]
    assert parked[0].failure.condition == "RetryAttemptsExhausted"
    assert parked[0].failure.error == f"Poison: product-{pill} v1"
    assert parked[0].failure.version == 1
    assert stack.query("GET", f"/products/{mug}").status == 200  # the other aggregate flows
    assert stack.query("GET", f"/products/{pill}").status == 404

    # Later events of the poisoned stream park behind it; the other stream keeps flowing.
    for product_id, cents in ((pill, 150), (mug, 1300), (pill, 175)):
        assert (
            stack.command("PUT", f"/products/{product_id}/price", {"amount": cents, "currency": "EUR"}).status
            == 200
        )
    stack.pump()
    [parked_pill] = lot(stack, "CatalogProjector").streams()
    assert [r.version for r in parked_pill.records] == [1, 2, 3]
    assert stack.query("GET", f"/products/{mug}").json()["price"]["amount"] == 1300
    assert stack.query("GET", f"/products/{pill}").status == 404
    assert stack.mappings[0].stats.discarded == 1  # only the poison record went to the queue

    # Before the fix: the redrive stops at the poison record and keeps everything.
    [stopped] = redrive(lot(stack, "CatalogProjector"), consumer(stack, "CatalogProjector").deliver)
    assert (stopped.delivered, stopped.remaining, stopped.released) == (0, 3, False)
    assert stopped.stopped is not None
    assert stopped.stopped.error == f"Poison: product-{pill} v1"
    [still] = lot(stack, "CatalogProjector").streams()
    assert [r.version for r in still.records] == [1, 2, 3]
    assert still.last_redrive is not None
    assert still.last_redrive.version == 1

    poisoned_projection.undo()  # the fix
    [done] = redrive(lot(stack, "CatalogProjector"), consumer(stack, "CatalogProjector").deliver)

    assert (done.delivered, done.remaining, done.released) == (3, 0, True)
    assert lot(stack, "CatalogProjector").streams() == []
    shown = stack.query("GET", f"/products/{pill}").json()
    assert (shown["name"], shown["price"]["amount"], shown["version"]) == ("Poison pill", 175, 3)
    report = check(read_snapshot(stack.clients.dynamodb, stack.physical))
    assert report.ok, report.summary()
    # Released: the stream's next event is applied as usual.
    assert stack.command("PUT", f"/products/{pill}/price", {"amount": 180, "currency": "EUR"}).status == 200
    stack.pump()
    assert stack.query("GET", f"/products/{pill}").json()["version"] == 4


def test_a_checkout_whose_reservation_was_parked_settles_after_the_redrive(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spec §4 Resilience: a record that went to an on-failure queue is brought back by the redrive,
    and the order it holds up settles, nothing lost, nothing doubled."""
    cup = product(stack, "CUP", "Cup", 500, 5)
    stack.pump()
    handle = StockReservationPolicy.handle

    def refusing(self: StockReservationPolicy, event: RecordedEvent) -> None:
        raise Poison(event.stream_id)

    monkeypatch.setattr(StockReservationPolicy, "handle", refusing)
    # A policy retries for 6 h (template.yaml, docs/resilience.md) before Lambda gives the record up;
    # here its budget runs out after two retries, which is where those 6 h end.
    for mapping in stack.mappings:
        if mapping.function == "StockReservationPolicy":
            monkeypatch.setattr(mapping, "max_retries", 2)
    cart_id = cart(stack)
    assert stack.command("POST", f"/carts/{cart_id}/items", {"productId": cup, "quantity": 2}).status == 200
    checkout = stack.command("POST", f"/carts/{cart_id}/checkout")
    assert checkout.status == 202, checkout.body
    order_id = checkout.json()["orderId"]
    stack.pump()

    [parked] = lot(stack, "StockReservationPolicy").streams()
    assert parked.stream_id == f"order-{order_id}"
    assert [r.event_types for r in parked.records] == [("OrderPlaced",)]
    assert order(stack, order_id)["status"] == "PENDING"

    monkeypatch.setattr(StockReservationPolicy, "handle", handle)  # the fix
    [done] = redrive(lot(stack, "StockReservationPolicy"), consumer(stack, "StockReservationPolicy").deliver)
    stack.pump()

    assert done.released
    assert order(stack, order_id)["status"] == "CONFIRMED"
    assert stack.query("GET", f"/products/{cup}").json()["available"] == 3
    report = check(read_snapshot(stack.clients.dynamodb, stack.physical))
    assert report.ok, report.summary()
    with pytest.raises(NotParked):  # a second redrive finds nothing to do twice
        redrive(
            lot(stack, "StockReservationPolicy"),
            consumer(stack, "StockReservationPolicy").deliver,
            parked.stream_id,
        )


def test_a_message_on_the_queue_that_is_no_on_failure_record_is_dropped_not_retried_forever(
    stack: Any,
) -> None:
    [mapping] = [q for q in stack.queue_mappings if q.function == "CatalogProjector"]
    stack.clients.sqs.send_message(QueueUrl=mapping.queue_url, MessageBody='{"not": "an on-failure record"}')

    assert mapping.deliver()

    assert mapping.stats.returned == 0
    assert not mapping.deliver()  # deleted: nothing comes back
    assert lot(stack, "CatalogProjector").streams() == []

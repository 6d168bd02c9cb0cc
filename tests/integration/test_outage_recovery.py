"""An outage longer than a policy's budget, in process on the whole template, with the event source
mapping's clock under the test's control: checkouts made while the Orders event store fails are
retried (never given up after a few tries), run out of their 6 h only with the store still
failing, are parked with their payload, and the redrive (the code path of ``shopctl redrive``)
turns every one of them into exactly one order that settles (spec §4 "Resilience": "including
records that went to an on-failure queue, which the redrive command brings back").
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest

from local.aws.esm import EventSourceMapping
from shop.operations.parking import NotParked, redrive
from tests.integration.test_checkout_flow import cart, order, product
from tests.integration.test_dependency_failures import FAULTS, failing
from tests.integration.test_parking_flow import consumer, lot
from tests.support.replay import ORDERS, check, read_snapshot, replay

INTAKE = "OrderIntakePolicy"


class Clock:
    """Real time plus whatever the test lets pass."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped


def intake_mapping(stack: Any) -> EventSourceMapping:
    [mapping] = [m for m in stack.mappings if m.function == INTAKE]
    return mapping


def test_checkouts_the_intake_policy_retried_past_its_6_hours_are_parked_and_redriven_into_one_order_each(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = intake_mapping(stack)
    clock = Clock()
    monkeypatch.setattr(mapping, "_clock", clock)  # the mapping's notion of now (records' age, backoff)
    assert (mapping.max_retries, mapping.max_age) == (-1, 6 * 3600)  # template.yaml: policies' budget

    cup = product(stack, "CUP", "Cup", 500, 5)
    stack.pump()
    carts = [cart(stack, customer) for customer in ("ann", "ben", "cid")]
    for cart_id in carts:
        assert (
            stack.command("POST", f"/carts/{cart_id}/items", {"productId": cup, "quantity": 1}).status == 200
        )
    stack.pump()

    # Unreachable: no request reaches the table (an error answer injected in process would still let
    # moto apply the write behind it).
    with failing(os.environ["ORDER_EVENTS_TABLE"], FAULTS["connection refused"]) as failed:
        orders = []
        for cart_id in carts:
            checkout = stack.command("POST", f"/carts/{cart_id}/checkout")
            assert checkout.status == 202, checkout.body  # checkout never needs Orders
            orders.append(checkout.json()["orderId"])
        stack.poll_streams()
        # Far more tries than the old budget (8), half an hour apart on the mapping's clock:
        # still retried, nothing given up while the records are younger than 6 h.
        for _ in range(12):
            clock.skipped += 1800 if clock.skipped < 5 * 3600 else 60
            assert mapping.deliver()
        assert "PutItem" in failed
        assert mapping.stats.discarded == 0
        assert lot(stack, INTAKE).streams() == []
        assert all(stack.query("GET", f"/orders/{o}").status == 404 for o in orders)

        clock.skipped = 6 * 3600 + 1  # the records are now older than MaximumRecordAgeInSeconds
        for _ in range(10):  # bisecting isolates each record (a function error); each ages out
            if mapping.stats.discarded == len(orders):
                break
            assert mapping.deliver()
        assert mapping.stats.discarded == len(orders)
        # The on-failure record reaches the policy's queue; its parker reads the records back from
        # the Cart stream (the Orders store is still failing: parking does not need it).
        stack.pump()

    parked = lot(stack, INTAKE).streams()
    assert sorted(p.stream_id for p in parked) == sorted(f"cart-{c}" for c in carts)
    assert {p.failure.condition for p in parked} == {"RecordAgeExceeded"}
    assert all(p.records[-1].event_types == ("CartCheckedOut",) for p in parked)
    assert all(stack.query("GET", f"/orders/{o}").status == 404 for o in orders)  # owed, not lost

    # The store answers again: the redrive (shopctl redrive's code path) delivers them through the
    # policy's own batch code, and the orders flow on through the other consumers.
    outcomes = redrive(lot(stack, INTAKE), consumer(stack, INTAKE).deliver)
    assert [(o.delivered, o.remaining, o.released) for o in outcomes] == [(1, 0, True)] * len(carts)
    stack.pump()

    assert Counter(order(stack, o)["status"] for o in orders) == {"CONFIRMED": len(orders)}
    assert stack.query("GET", f"/products/{cup}").json()["available"] == 5 - len(orders)
    snapshot = read_snapshot(stack.clients.dynamodb, stack.physical)
    placed = Counter(
        event.stream_id
        for events in replay(snapshot).streams[ORDERS].values()
        for event in events
        if event.type == "OrderPlaced"
    )
    assert placed == {f"order-{o}": 1 for o in orders}  # one order per checkout, none twice
    report = check(snapshot)
    assert report.ok, report.summary()
    assert lot(stack, INTAKE).streams() == []
    with pytest.raises(NotParked):  # nothing left to bring back twice
        redrive(lot(stack, INTAKE), consumer(stack, INTAKE).deliver, f"cart-{carts[0]}")

"""Consumer-driven contracts: what each producer emits is readable by the policies that consume it.

Policies read other services' events through their own ``Message`` models; these tests feed them
the producers' real events (built by the producers' aggregates) so a breaking change to either
side fails here, not in production.
"""

from __future__ import annotations

from shop.cart.domain import Cart, ListedProduct
from shop.catalog.domain import StockReservation
from shop.catalog.events import ReservedLine, ShortLine
from shop.catalog.policies import OrderCancelledMessage, OrderPlacedMessage, StockReservationPolicy
from shop.domain.money import Money
from shop.orders.domain import Order
from shop.orders.events import OrderLine
from shop.orders.policies import (
    CartCheckedOutMessage,
    OrderFulfilmentPolicy,
    OrderIntakePolicy,
    ReservationOutcomeMessage,
)

EUR = Money(amount=250, currency="EUR")


def emitted(aggregate: object) -> dict[str, dict[str, object]]:
    return {type(e).__name__: e.to_data() for e in aggregate.pending_events}  # type: ignore[attr-defined]


def test_cart_checked_out_is_readable_by_order_intake() -> None:
    cart = Cart.create("cart-1", "alice", "EUR")
    cart.add_item(ListedProduct("p-1", "Cup", EUR, active=True), 2)
    cart.check_out("order-1")
    message = CartCheckedOutMessage.model_validate(emitted(cart)["CartCheckedOut"])
    assert (message.order_id, message.customer_id, message.lines[0].quantity) == ("order-1", "alice", 2)
    assert message.total == Money(amount=500, currency="EUR")
    assert "CartCheckedOut" in OrderIntakePolicy.handles


def test_order_events_are_readable_by_stock_reservation() -> None:
    order = Order.place(
        "order-1",
        cart_id="cart-1",
        customer_id="alice",
        lines=[OrderLine(product_id="p-1", name="Cup", quantity=2, unit_price=EUR)],
        total=EUR.times(2),
        placed_at="2026-11-26T09:00:00.000000Z",
    )
    order.cancel()
    events = emitted(order)
    placed = OrderPlacedMessage.model_validate(events["OrderPlaced"])
    assert (placed.order_id, placed.lines[0].product_id, placed.lines[0].name, placed.lines[0].quantity) == (
        "order-1",
        "p-1",
        "Cup",
        2,
    )
    assert OrderCancelledMessage.model_validate(events["OrderCancelled"]).order_id == "order-1"
    assert {"OrderPlaced", "OrderCancelled"} == StockReservationPolicy.handles


def test_reservation_outcomes_are_readable_by_order_fulfilment() -> None:
    confirmed = StockReservation("order-1")
    confirmed.confirm([ReservedLine(product_id="p-1", quantity=2)])
    rejected = StockReservation("order-2")
    rejected.reject([ShortLine(product_id="p-1", name="Cup", requested=2, available=1)])

    assert (
        ReservationOutcomeMessage.model_validate(emitted(confirmed)["StockReservationConfirmed"]).order_id
        == "order-1"
    )
    outcome = ReservationOutcomeMessage.model_validate(emitted(rejected)["StockReservationRejected"])
    assert outcome.reason == "Not enough stock for: Cup (requested 2, available 1)"
    assert outcome.short_products[0].available == 1
    assert {"StockReservationConfirmed", "StockReservationRejected"} == OrderFulfilmentPolicy.handles


def test_the_template_filters_deliver_what_each_policy_handles(template) -> None:  # type: ignore[no-untyped-def]
    import json  # noqa: PLC0415

    handles = {
        "OrderIntakePolicy": OrderIntakePolicy.handles,
        "StockReservationPolicy": StockReservationPolicy.handles,
        "OrderFulfilmentPolicy": OrderFulfilmentPolicy.handles,
    }
    for subscription in template.subscriptions:
        if subscription.function in handles:
            [criterion] = subscription.setting("FilterCriteria")["Filters"]
            pattern = json.loads(criterion["Pattern"])
            assert set(pattern["dynamodb"]["NewImage"]["eventTypes"]["SS"]) == handles[subscription.function]


def test_every_stream_consumer_reads_its_stream_through_the_registry_of_the_service_that_owns_it(
    template,  # type: ignore[no-untyped-def]
) -> None:
    """Records are upcast by their producer's registry: a policy reading another service's stream
    names that service's registry (``source``), never its own."""
    from local.aws.functions import load_handler  # noqa: PLC0415
    from tests.support.replay import SERVICES  # noqa: PLC0415

    owners = {service.store: service.registry for service in SERVICES}
    assert template.subscriptions
    for subscription in template.subscriptions:
        handler = load_handler(template.functions[subscription.function])
        assert handler.source is owners[subscription.table], subscription.function  # type: ignore[attr-defined]

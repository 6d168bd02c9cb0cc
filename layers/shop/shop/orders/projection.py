"""``OrdersView``: one row per order; the ``ByCustomer`` index lists a customer's orders newest first."""

from __future__ import annotations

from shop.eventstore.model import RecordedEvent
from shop.orders.events import OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, order_events
from shop.projection import Changes, Row, Target


class OrdersProjection:
    name = "OrdersView"

    def target(self, stream_id: str) -> Target | None:
        prefix, _, order_id = stream_id.partition("-")
        return Target({"orderId": order_id}, "version") if prefix == "order" else None

    def apply(self, row: Row, event: RecordedEvent) -> Changes:  # noqa: ARG002 - rows are not needed
        if event.type not in order_events:
            return {}
        match order_events.decode(event.type, event.data):
            case OrderPlaced() as placed:
                return {
                    "customerId": placed.customer_id,
                    "cartId": placed.cart_id,
                    "status": "PENDING",
                    "lines": [line.model_dump(mode="json", by_alias=True) for line in placed.lines],
                    "total": placed.total.model_dump(),
                    "placedAt": placed.placed_at,
                    "placedKey": f"{placed.placed_at}#{placed.order_id}",
                }
            case OrderConfirmed():
                return {"status": "CONFIRMED"}
            case OrderRejected() as rejected:
                return {"status": "REJECTED", "reason": rejected.reason}
            case OrderCancelled():
                return {"status": "CANCELLED"}
            case _:
                return {}

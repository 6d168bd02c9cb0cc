"""``CartsView``: one row per cart, lines in the order they were first added."""

from __future__ import annotations

from typing import Any

from shop.cart.events import (
    CartCheckedOut,
    CartCreated,
    CartItemAdded,
    CartItemQuantityChanged,
    CartItemRemoved,
    cart_events,
)
from shop.eventstore.model import RecordedEvent
from shop.projection import Changes, Row, Target


class CartsProjection:
    name = "CartsView"

    def target(self, stream_id: str) -> Target | None:
        prefix, _, cart_id = stream_id.partition("-")
        return Target({"cartId": cart_id}, "version") if prefix == "cart" else None

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        if event.type not in cart_events:
            return {}
        items: list[dict[str, Any]] = [dict(item) for item in row.get("items", [])]
        match cart_events.decode(event.type, event.data):
            case CartCreated() as created:
                return {
                    "customerId": created.customer_id,
                    "currency": created.currency,
                    "status": "OPEN",
                    "items": [],
                }
            case CartItemAdded() as added:
                line = next((item for item in items if item["productId"] == added.product_id), None)
                if line is None:
                    items.append({"productId": added.product_id, "quantity": 0})
                    line = items[-1]
                line |= {
                    "name": added.name,
                    "quantity": int(line["quantity"]) + added.quantity_added,
                    "unitPrice": added.unit_price.model_dump(),
                }
                return {"items": items}
            case CartItemQuantityChanged() as changed:
                fields = {
                    "name": changed.name,
                    "quantity": changed.quantity,
                    "unitPrice": changed.unit_price.model_dump(),
                }
                line = next((item for item in items if item["productId"] == changed.product_id), None)
                if line is None:
                    items.append({"productId": changed.product_id, **fields})
                else:
                    line |= fields
                return {"items": items}
            case CartItemRemoved() as removed:
                return {"items": [item for item in items if item["productId"] != removed.product_id]}
            case CartCheckedOut() as checked_out:
                return {"status": "CHECKED_OUT", "orderId": checked_out.order_id}
            case _:
                return {}

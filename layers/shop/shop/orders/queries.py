"""Order queries: one order, and a customer's orders newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.application import Caller
from shop.errors import Hidden
from shop.views import Page, View
from shop.views.lines import priced_lines

BY_CUSTOMER_INDEX = "ByCustomer"


def order_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    representation = {
        "orderId": row["orderId"],
        "customerId": row["customerId"],
        "cartId": row["cartId"],
        "status": row["status"],
        "lines": priced_lines(row["lines"]),
        "total": row["total"],
        "placedAt": row["placedAt"],
        "version": int(row["version"]),
    }
    if "reason" in row:
        representation["reason"] = row["reason"]
    return representation


class OrderQueries:
    def __init__(self, view: View) -> None:
        self._view = view

    def get(self, order_id: str, caller: Caller) -> dict[str, Any]:
        """An order its customer (or an admin) asks for; to anyone else it does not exist."""
        what = f"Order {order_id}"
        row = self._view.existing({"orderId": order_id}, what)
        if not caller.may_act_for(row["customerId"]):
            raise Hidden(f"{what} does not exist.")
        return order_representation(row)

    def of_customer(
        self, customer_id: str, caller: Caller, limit: int, start: Mapping[str, Any] | None
    ) -> Page:
        """A customer's orders, for that customer or an admin (``Forbidden`` for anyone else)."""
        caller.require_acting_for(customer_id, "list orders")
        page = self._view.page(
            index=BY_CUSTOMER_INDEX,
            partition=("customerId", customer_id),
            key_attributes=("orderId", "customerId", "placedKey"),
            limit=limit,
            start=start,
            newest_first=True,
        )
        return Page([order_representation(row) for row in page.items], page.next_position)

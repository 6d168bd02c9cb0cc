"""Cart queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.application import Caller
from shop.errors import Hidden
from shop.views import View
from shop.views.lines import priced_lines, sum_of


def cart_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    items = priced_lines(row.get("items", []))
    representation = {
        "cartId": row["cartId"],
        "customerId": row["customerId"],
        "status": row["status"],
        "items": items,
        "subtotal": sum_of(items, row["currency"]),
        "version": int(row["version"]),
    }
    if "orderId" in row:
        representation["orderId"] = row["orderId"]
    return representation


class CartQueries:
    def __init__(self, view: View) -> None:
        self._view = view

    def get(self, cart_id: str, caller: Caller) -> dict[str, Any]:
        """A cart its customer (or an admin) asks for; to anyone else it does not exist."""
        what = f"Cart {cart_id}"
        row = self._view.existing({"cartId": cart_id}, what)
        if not caller.may_act_for(row["customerId"]):
            raise Hidden(f"{what} does not exist.")
        return cart_representation(row)

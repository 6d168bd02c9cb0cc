"""Cart queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

    def get(self, cart_id: str) -> dict[str, Any]:
        return cart_representation(self._view.existing({"cartId": cart_id}, f"Cart {cart_id}"))

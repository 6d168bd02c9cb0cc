"""Cart queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.errors import NotFound
from shop.readside import DynamoDBView


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def cart_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    currency = row["currency"]
    items = [
        {
            "productId": item["productId"],
            "name": item["name"],
            "quantity": int(item["quantity"]),
            "unitPrice": item["unitPrice"],
            "lineTotal": money(int(item["unitPrice"]["amount"]) * int(item["quantity"]), currency),
        }
        for item in row.get("items", [])
    ]
    representation = {
        "cartId": row["cartId"],
        "customerId": row["customerId"],
        "status": row["status"],
        "items": items,
        "subtotal": money(sum(item["lineTotal"]["amount"] for item in items), currency),
        "version": int(row["version"]),
    }
    if "orderId" in row:
        representation["orderId"] = row["orderId"]
    return representation


class CartQueries:
    def __init__(self, view: DynamoDBView) -> None:
        self._view = view

    def get(self, cart_id: str) -> dict[str, Any]:
        row = self._view.get({"cartId": cart_id})
        if row is None or "version" not in row:
            raise NotFound(f"Cart {cart_id} does not exist.")
        return cart_representation(row)

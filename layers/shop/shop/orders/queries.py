"""Order queries: one order, and a customer's orders newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.errors import NotFound
from shop.readside import DynamoDBView, Page

BY_CUSTOMER_INDEX = "ByCustomer"


def order_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    currency = row["total"]["currency"]
    lines = [
        {
            "productId": line["productId"],
            "name": line["name"],
            "quantity": int(line["quantity"]),
            "unitPrice": line["unitPrice"],
            "lineTotal": {
                "amount": int(line["unitPrice"]["amount"]) * int(line["quantity"]),
                "currency": currency,
            },
        }
        for line in row["lines"]
    ]
    representation = {
        "orderId": row["orderId"],
        "customerId": row["customerId"],
        "cartId": row["cartId"],
        "status": row["status"],
        "lines": lines,
        "total": row["total"],
        "placedAt": row["placedAt"],
        "version": int(row["version"]),
    }
    if "reason" in row:
        representation["reason"] = row["reason"]
    return representation


class OrderQueries:
    def __init__(self, view: DynamoDBView) -> None:
        self._view = view

    def get(self, order_id: str) -> dict[str, Any]:
        row = self._view.get({"orderId": order_id})
        if row is None or "version" not in row:
            raise NotFound(f"Order {order_id} does not exist.")
        return order_representation(row)

    def of_customer(self, customer_id: str, limit: int, start: Mapping[str, Any] | None) -> Page:
        page = self._view.page(
            index=BY_CUSTOMER_INDEX,
            partition=("customerId", customer_id),
            key_attributes=("orderId", "customerId", "placedKey"),
            limit=limit,
            start=start,
            newest_first=True,
        )
        return Page([order_representation(row) for row in page.items], page.next_position)

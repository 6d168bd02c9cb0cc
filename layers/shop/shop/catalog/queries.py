"""Catalog queries: one product, and pages of active products by name (optionally in a category)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.errors import NotFound
from shop.readside import DynamoDBView, Page

BY_CATEGORY_INDEX = "ByCategory"
BY_NAME_INDEX = "ByName"


def product_representation(row: Mapping[str, Any]) -> dict[str, Any]:
    available = int(row.get("available", 0))
    return {
        "productId": row["productId"],
        "sku": row["sku"],
        "name": row["name"],
        "description": row.get("description", ""),
        "category": row["category"],
        "price": row["price"],
        "status": row["status"],
        "available": available,
        "inStock": available > 0,
        "version": int(row["version"]),
        "stockVersion": int(row.get("stockVersion", 0)),
    }


class ProductQueries:
    def __init__(self, view: DynamoDBView) -> None:
        self._view = view

    def get(self, product_id: str) -> dict[str, Any]:
        row = self._view.get({"productId": product_id})
        # A row made only by stock events (product not projected yet) is not a product yet.
        if row is None or "version" not in row:
            raise NotFound(f"Product {product_id} does not exist.")
        return product_representation(row)

    def list_active(self, category: str | None, limit: int, start: Mapping[str, Any] | None) -> Page:
        if category is None:
            index, partition = BY_NAME_INDEX, ("activeListing", "ACTIVE")
        else:
            index, partition = BY_CATEGORY_INDEX, ("activeCategory", category)
        page = self._view.page(
            index=index,
            partition=partition,
            key_attributes=("productId", partition[0], "nameKey"),
            limit=limit,
            start=start,
        )
        return Page([product_representation(row) for row in page.items], page.next_position)

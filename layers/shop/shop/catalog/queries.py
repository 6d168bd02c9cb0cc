"""Catalog queries: one product, and pages of active products by name (optionally in a category)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shop.catalog.listing import ACTIVE, ProductListing, listed_product
from shop.views import Page, View

BY_CATEGORY_INDEX = "ByCategory"
BY_NAME_INDEX = "ByName"


class ProductQueries:
    def __init__(self, view: View) -> None:
        self._view = view

    def get(self, product_id: str) -> dict[str, Any]:
        return listed_product(self._view, product_id).representation()

    def list_active(self, category: str | None, limit: int, start: Mapping[str, Any] | None) -> Page:
        if category is None:
            index, partition = BY_NAME_INDEX, ("activeListing", ACTIVE)
        else:
            index, partition = BY_CATEGORY_INDEX, ("activeCategory", category)
        page = self._view.page(
            index=index,
            partition=partition,
            key_attributes=("productId", partition[0], "nameKey"),
            limit=limit,
            start=start,
        )
        return Page([ProductListing.from_row(row).representation() for row in page.items], page.next_position)

"""A ``ProductsView`` row as the Catalog publishes it: the one reading of that row.

``CatalogProjector`` writes these rows (``shop.catalog.projection``); the Query API shows them
(``shop.catalog.queries``) and the Cart service prices its lines from them
(``shop.cart.catalog_view``), both through ``ProductListing``. This module is the Catalog's read
contract: other services may import it, and nothing else of the Catalog
(``tests/contract/test_products_view_contract.py`` holds the two sides together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shop.domain.money import Money
from shop.views import View

ACTIVE = "ACTIVE"
DISCONTINUED = "DISCONTINUED"


@dataclass(frozen=True, slots=True)
class ProductListing:
    product_id: str
    sku: str
    name: str
    description: str
    category: str
    price: Money
    status: str
    available: int
    version: int
    stock_version: int

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ProductListing:
        return cls(
            product_id=row["productId"],
            sku=row["sku"],
            name=row["name"],
            description=row.get("description", ""),
            category=row["category"],
            price=Money.model_validate(row["price"]),
            status=row["status"],
            available=int(row.get("available", 0)),
            version=int(row["version"]),
            stock_version=int(row.get("stockVersion", 0)),
        )

    def representation(self) -> dict[str, Any]:
        """The product as ``GET /products/{productId}`` and the listings show it."""
        return {
            "productId": self.product_id,
            "sku": self.sku,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "price": self.price.model_dump(),
            "status": self.status,
            "available": self.available,
            "inStock": self.available > 0,
            "version": self.version,
            "stockVersion": self.stock_version,
        }


def product_key(product_id: str) -> dict[str, str]:
    return {"productId": product_id}


def listed_product(view: View, product_id: str) -> ProductListing:
    """The listed product, or ``NotFound`` (also while only its stock has been projected)."""
    return ProductListing.from_row(view.existing(product_key(product_id), f"Product {product_id}"))


def find_listed_product(view: View, product_id: str) -> ProductListing | None:
    row = view.get(product_key(product_id))
    return ProductListing.from_row(row) if row is not None and "version" in row else None

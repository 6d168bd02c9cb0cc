"""Adapter: the Catalog's ``ProductsView`` read table, as the Cart service needs to see products."""

from __future__ import annotations

from shop.cart.domain import ListedProduct
from shop.domain.money import Money
from shop.readside import DynamoDBView


class ProductsViewCatalog:
    """Reads exactly what ``GET /products/{id}`` reads, so the cart gets what the Query API shows."""

    def __init__(self, view: DynamoDBView) -> None:
        self._view = view

    def find(self, product_id: str) -> ListedProduct | None:
        row = self._view.get({"productId": product_id})
        if row is None or "version" not in row:
            return None
        return ListedProduct(
            product_id=product_id,
            name=row["name"],
            price=Money.model_validate(row["price"]),
            active=row["status"] == "ACTIVE",
        )

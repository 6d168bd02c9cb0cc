"""Adapter: the Catalog's ``ProductsView``, as the Cart service needs to see products.

Read through the Catalog's own reading of its rows (``shop.catalog.listing``), so the cart gets
exactly what ``GET /products/{id}`` shows.
"""

from __future__ import annotations

from shop.cart.domain import ListedProduct
from shop.catalog.listing import find_listed_product
from shop.views import View


class ProductsViewCatalog:
    def __init__(self, view: View) -> None:
        self._view = view

    def find(self, product_id: str) -> ListedProduct | None:
        listing = find_listed_product(self._view, product_id)
        if listing is None:
            return None
        return ListedProduct(
            product_id=product_id, name=listing.name, price=listing.price, active=listing.active
        )

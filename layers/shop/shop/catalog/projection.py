"""``ProductsView``: one row per product, with its stock merged in, shaped for the Query API.

Two source streams feed a row: ``product-<id>`` (checkpoint ``version``) and ``stock-<id>``
(checkpoint ``stockVersion``). Each owns its own attributes, so they never overwrite each other.

Listing indexes are sparse: ``activeCategory`` and ``activeListing`` exist only while the product
is ``ACTIVE``, so discontinued products drop out of ``GET /products`` without a filter.
"""

from __future__ import annotations

from typing import Any

from shop.catalog.events import (
    ProductCreated,
    ProductDetailsChanged,
    ProductDiscontinued,
    ProductPriceChanged,
    StockReceived,
    StockReleased,
    StockReserved,
    catalog_events,
)
from shop.catalog.listing import ACTIVE, DISCONTINUED
from shop.eventstore.model import RecordedEvent
from shop.projection import Changes, Row, Target

#: Partition value of the ``ByName`` index: every active product, sorted by name.
LISTED = ACTIVE


#: Index sort keys are limited to 1,024 bytes; casefolding can triple a character's size.
NAME_KEY_BYTES = 900


def name_key(name: str, product_id: str) -> str:
    """Sort key for listings: case-insensitive name, then id so equal names keep a stable order."""
    folded = name.casefold().encode()[:NAME_KEY_BYTES].decode(errors="ignore")
    return f"{folded}#{product_id}"


class ProductsProjection:
    name = "ProductsView"

    def target(self, stream_id: str) -> Target | None:
        prefix, _, product_id = stream_id.partition("-")
        if prefix == "product":
            return Target({"productId": product_id}, "version")
        if prefix == "stock":
            return Target({"productId": product_id}, "stockVersion")
        return None

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        if event.type not in catalog_events:
            return {}
        match catalog_events.decode(event.type, event.data):
            case ProductCreated() as created:
                return {
                    "sku": created.sku,
                    "name": created.name,
                    "description": created.description,
                    "category": created.category,
                    "price": created.price.model_dump(),
                    "status": ACTIVE,
                    **_listing(created.name, created.category, created.product_id),
                }
            case ProductDetailsChanged() as changed:
                changes: dict[str, Any] = changed.model_dump(exclude_none=True)
                if row.get("status") == ACTIVE:
                    name = changed.name or row["name"]
                    changes |= _listing(name, changed.category or row["category"], row["productId"])
                return changes
            case ProductPriceChanged() as priced:
                return {"price": priced.price.model_dump()}
            case ProductDiscontinued():
                return {"status": DISCONTINUED, "activeCategory": None, "activeListing": None}
            case StockReceived() | StockReleased() as added:
                return {"available": int(row.get("available", 0)) + added.quantity}
            case StockReserved() as reserved:
                return {"available": int(row.get("available", 0)) - reserved.quantity}
            case _:
                return {}


def _listing(name: str, category: str, product_id: str) -> dict[str, Any]:
    return {"activeCategory": category, "activeListing": LISTED, "nameKey": name_key(name, product_id)}

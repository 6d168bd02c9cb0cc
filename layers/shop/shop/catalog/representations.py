"""What the Catalog's routes answer (OpenAPI documents only; see ``shop.http.representations``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictBool, StrictInt, StrictStr

from shop.catalog.domain import Category, Description, ProductName, Sku
from shop.domain.money import Money
from shop.http.representations import Representation, Version


class ProductVersion(Representation):
    """A product command's answer: the product and its new version."""

    product_id: UUID
    version: Version


class StockVersion(Representation):
    """A stock command's answer: stock is its own aggregate, with its own version."""

    product_id: UUID
    stock_version: Version


class Product(Representation):
    product_id: UUID
    sku: Sku
    name: ProductName
    description: Description
    category: Category
    price: Money
    status: Literal["ACTIVE", "DISCONTINUED"]
    available: Annotated[StrictInt, Field(ge=0, description="Units received and not reserved")]
    in_stock: StrictBool
    version: Version
    stock_version: Annotated[StrictInt, Field(ge=0, description="0 until stock is first received")]


class ProductPage(Representation):
    """Active products by name; ``nextCursor`` is absent or null on the last page."""

    items: list[Product]
    next_cursor: StrictStr | None = None

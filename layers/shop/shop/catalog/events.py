"""Events of the Catalog service. Streams: ``product-<id>`` and ``stock-<productId>``."""

from __future__ import annotations

from shop.domain.events import DomainEvent, EventRegistry
from shop.domain.money import Money


class ProductCreated(DomainEvent):
    product_id: str
    sku: str
    name: str
    description: str
    category: str
    price: Money


class ProductDetailsChanged(DomainEvent):
    """Only the fields that changed are present."""

    name: str | None = None
    description: str | None = None
    category: str | None = None


class ProductPriceChanged(DomainEvent):
    price: Money
    previous_price: Money


class ProductDiscontinued(DomainEvent):
    pass


class StockReceived(DomainEvent):
    product_id: str
    quantity: int


class StockReserved(DomainEvent):
    product_id: str
    quantity: int
    order_id: str


class StockReleased(DomainEvent):
    product_id: str
    quantity: int
    order_id: str


PRODUCT_EVENTS = (ProductCreated, ProductDetailsChanged, ProductPriceChanged, ProductDiscontinued)
STOCK_EVENTS = (StockReceived, StockReserved, StockReleased)

catalog_events = EventRegistry([*PRODUCT_EVENTS, *STOCK_EVENTS])

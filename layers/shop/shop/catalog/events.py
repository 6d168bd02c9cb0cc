"""Events of the Catalog service.

Streams: ``product-<id>``, ``stock-<productId>``, ``reservation-<orderId>``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

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


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ReservedLine(_Value):
    product_id: str
    quantity: int


class ShortLine(_Value):
    product_id: str
    name: str
    requested: int
    available: int


class StockReservationConfirmed(DomainEvent):
    """Every line of the order is reserved (with ``StockReserved`` on each stock, same transaction)."""

    order_id: str
    lines: tuple[ReservedLine, ...]


class StockReservationRejected(DomainEvent):
    """Some lines could not be covered; nothing was reserved."""

    order_id: str
    reason: str
    short_products: tuple[ShortLine, ...]


class StockReservationReleased(DomainEvent):
    """The order was cancelled; its units went back (``StockReleased``, same transaction)."""

    order_id: str


class StockReservationVoided(DomainEvent):
    """The order was cancelled before stock was reserved: a late ``OrderPlaced`` reserves nothing."""

    order_id: str


PRODUCT_EVENTS = (ProductCreated, ProductDetailsChanged, ProductPriceChanged, ProductDiscontinued)
STOCK_EVENTS = (StockReceived, StockReserved, StockReleased)
RESERVATION_EVENTS = (
    StockReservationConfirmed,
    StockReservationRejected,
    StockReservationReleased,
    StockReservationVoided,
)

catalog_events = EventRegistry([*PRODUCT_EVENTS, *STOCK_EVENTS, *RESERVATION_EVENTS])

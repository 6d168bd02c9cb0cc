"""Events of the Orders service. Stream: ``order-<id>``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shop.domain.events import DomainEvent, EventRegistry
from shop.domain.money import Money


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid")


class OrderLine(_Value):
    product_id: str
    name: str
    quantity: int
    unit_price: Money


class ShortProduct(_Value):
    """A line stock could not cover when the order was decided."""

    product_id: str
    name: str
    requested: int
    available: int


class OrderPlaced(DomainEvent):
    order_id: str
    cart_id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    total: Money
    placed_at: str


class OrderConfirmed(DomainEvent):
    order_id: str


class OrderRejected(DomainEvent):
    order_id: str
    reason: str
    short_products: tuple[ShortProduct, ...]


class OrderCancelled(DomainEvent):
    order_id: str


order_events = EventRegistry([OrderPlaced, OrderConfirmed, OrderRejected, OrderCancelled])

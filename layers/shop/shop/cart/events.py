"""Events of the Cart service. Stream: ``cart-<id>``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shop.domain.events import DomainEvent, EventRegistry
from shop.domain.money import Money


class CartLine(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid")

    product_id: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price.times(self.quantity)


class CartCreated(DomainEvent):
    cart_id: str
    customer_id: str
    currency: str


class CartItemAdded(DomainEvent):
    """``quantity`` units were added; the line now costs ``unit_price`` each (the listed price)."""

    product_id: str
    name: str
    quantity: int
    unit_price: Money


class CartItemQuantityChanged(DomainEvent):
    product_id: str
    name: str
    quantity: int
    unit_price: Money


class CartItemRemoved(DomainEvent):
    product_id: str


class CartCheckedOut(DomainEvent):
    """The cart became an order: ``lines`` and ``total`` are what the customer agreed to pay."""

    cart_id: str
    order_id: str
    customer_id: str
    lines: tuple[CartLine, ...]
    total: Money


cart_events = EventRegistry(
    [CartCreated, CartItemAdded, CartItemQuantityChanged, CartItemRemoved, CartCheckedOut]
)

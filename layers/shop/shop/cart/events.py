"""Events of the Cart service. Stream: ``cart-<id>``."""

from __future__ import annotations

from typing import Any, ClassVar

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
    """``quantity_added`` units were added to the line (on top of what it held); the line now costs
    ``unit_price`` each (the listed price).

    Version 2. Version 1 called the units added ``quantity``: the name ``CartItemQuantityChanged``
    and ``CartLine`` give the line's resulting quantity, so a reader could take a change for a
    total. Stored v1 events are upcast by ``quantity_named_as_added``.
    """

    schema_version: ClassVar[int] = 2

    product_id: str
    name: str
    quantity_added: int
    unit_price: Money


def quantity_named_as_added(v1: dict[str, Any]) -> dict[str, Any]:
    """``CartItemAdded`` v1 -> v2: ``quantity`` (the units added) becomes ``quantityAdded``."""
    return {("quantityAdded" if key == "quantity" else key): value for key, value in v1.items()}


class CartItemQuantityChanged(DomainEvent):
    """The line now holds ``quantity`` units (1 to 99; removing a line is ``CartItemRemoved``)."""

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
    [CartCreated, CartItemAdded, CartItemQuantityChanged, CartItemRemoved, CartCheckedOut],
    upcasters={(CartItemAdded, 1): quantity_named_as_added},
)

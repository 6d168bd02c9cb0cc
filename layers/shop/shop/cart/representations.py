"""What the Cart's routes answer (OpenAPI documents only; see ``shop.http.representations``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictStr

from shop.domain.money import Money
from shop.http.representations import Absent, PricedLine, Representation, Version


class CartVersion(Representation):
    """A cart command's answer: the cart and its new version."""

    cart_id: UUID
    version: Version


class CheckoutAccepted(Representation):
    """The cart is checked out; the order is placed asynchronously (read it at ``Location``)."""

    cart_id: UUID
    order_id: UUID
    version: Version


class Cart(Representation):
    cart_id: UUID
    customer_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    status: Literal["OPEN", "CHECKED_OUT"]
    items: list[PricedLine]
    subtotal: Money
    version: Version
    order_id: UUID | Absent = Field(default=None, description="The order its checkout placed")

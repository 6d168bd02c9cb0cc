"""What the Orders routes answer (OpenAPI documents only; see ``shop.http.representations``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictStr

from shop.domain.money import Money
from shop.http.representations import Absent, PricedLine, Representation, Version


class OrderVersion(Representation):
    """An order command's answer: the order and its new version."""

    order_id: UUID
    version: Version


class Order(Representation):
    order_id: UUID
    customer_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    cart_id: UUID
    status: Literal["PENDING", "CONFIRMED", "REJECTED", "CANCELLED"]
    lines: list[PricedLine]
    total: Money
    reason: StrictStr | Absent = Field(default=None, description="Why the order was rejected")
    placed_at: Annotated[StrictStr, Field(description="UTC, ISO 8601 (`2025-01-31T12:00:00.000000Z`)")]
    version: Version


class OrderPage(Representation):
    """A customer's orders, newest first; ``nextCursor`` is absent or null on the last page."""

    items: list[Order]
    next_cursor: StrictStr | None = None

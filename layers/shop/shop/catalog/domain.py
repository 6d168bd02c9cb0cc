"""Catalog rules: products, the SKU registry, and stock. No I/O here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr, StringConstraints

from shop.catalog.events import (
    ProductCreated,
    ProductDetailsChanged,
    ProductDiscontinued,
    ProductPriceChanged,
    ReservedLine,
    ShortLine,
    StockReceived,
    StockReleased,
    StockReservationConfirmed,
    StockReservationRejected,
    StockReservationReleased,
    StockReservationVoided,
    StockReserved,
)
from shop.domain.aggregate import Aggregate, SnapshotState
from shop.domain.events import DomainEvent
from shop.domain.money import Money
from shop.domain.numbers import WHOLE
from shop.domain.text import paragraphs, rule, single_line
from shop.errors import RuleViolated

Sku = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
ProductName = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    rule(single_line),
    Field(description="One line, trimmed; no control or bidi-override characters, something visible."),
]
Description = Annotated[
    StrictStr,
    StringConstraints(max_length=2000),
    rule(paragraphs),
    Field(
        description="Empty, or text with something visible; tabs and line breaks, no other control "
        "characters."
    ),
]
Category = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
ReceiveQuantity = Annotated[StrictInt, Field(ge=1, le=1_000_000), WHOLE]


class ProductDiscontinuedError(RuleViolated):
    code = "product-discontinued"


class DuplicateSku(RuleViolated):
    code = "duplicate-sku"


#: Namespace of product ids: a product's id is derived from its SKU (see ``Product.id_for_sku``).
PRODUCT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-8b7d-5c3e-9a1f-2d4b6c8e0a13")


class ProductState(SnapshotState):
    """A product as its snapshot keeps it (``Product.snapshot_schema`` 1)."""

    sku: str
    name: str
    description: str
    category: str
    price: Money | None
    discontinued: bool


class Product(Aggregate):
    """A sellable product. Its id is a UUID derived from its SKU, which makes the SKU unique.

    SKUs are unique regardless of letter case and never reused; deriving the stream id from the
    upper-cased SKU means "create" can only succeed once per SKU, enforced by the event store's
    conditional write on the new stream (one PutItem) instead of a read or a second item.
    """

    stream_prefix = "product"
    snapshot_schema = 1

    @staticmethod
    def id_for_sku(sku: str) -> str:
        return str(uuid.uuid5(PRODUCT_ID_NAMESPACE, sku.upper()))

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.sku = ""
        self.name = ""
        self.description = ""
        self.category = ""
        self.price: Money | None = None
        self.discontinued = False

    @classmethod
    def create(
        cls, product_id: str, *, sku: str, name: str, description: str, category: str, price: Money
    ) -> Product:
        product = cls(product_id)
        product._record(
            ProductCreated(
                product_id=product_id,
                sku=sku,
                name=name,
                description=description,
                category=category,
                price=price,
            )
        )
        return product

    def change_details(
        self, *, name: str | None = None, description: str | None = None, category: str | None = None
    ) -> None:
        self.ensure_active()
        changed = ProductDetailsChanged(
            name=name if name is not None and name != self.name else None,
            description=description if description is not None and description != self.description else None,
            category=category if category is not None and category != self.category else None,
        )
        if changed.to_data():
            self._record(changed)

    def change_price(self, price: Money) -> None:
        self.ensure_active()
        if price != self.price:
            assert self.price is not None
            self._record(ProductPriceChanged(price=price, previous_price=self.price))

    def discontinue(self) -> None:
        self.ensure_active()
        self._record(ProductDiscontinued())

    def ensure_active(self) -> None:
        if self.discontinued:
            raise ProductDiscontinuedError(f"Product {self.id} is discontinued and cannot be changed.")

    def snapshot_state(self) -> dict[str, Any]:
        state = ProductState(
            sku=self.sku,
            name=self.name,
            description=self.description,
            category=self.category,
            price=self.price,
            discontinued=self.discontinued,
        )
        return state.model_dump(mode="json", by_alias=True)

    def _restore(self, state: Mapping[str, Any]) -> None:
        restored = ProductState.model_validate(state)
        self.sku, self.name, self.description = restored.sku, restored.name, restored.description
        self.category, self.price = restored.category, restored.price
        self.discontinued = restored.discontinued

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ProductCreated():
                self.sku, self.name, self.description = event.sku, event.name, event.description
                self.category, self.price = event.category, event.price
            case ProductDetailsChanged():
                self.name = event.name if event.name is not None else self.name
                self.description = event.description if event.description is not None else self.description
                self.category = event.category if event.category is not None else self.category
            case ProductPriceChanged():
                self.price = event.price
            case ProductDiscontinued():
                self.discontinued = True
            case _:
                pass


class InsufficientStock(RuleViolated):
    code = "insufficient-stock"


class Stock(Aggregate):
    """Units of one product: ``available = received - reserved + released``, never negative."""

    stream_prefix = "stock"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.available = 0

    def receive(self, quantity: int) -> None:
        self._record(StockReceived(product_id=self.id, quantity=quantity))

    def can_reserve(self, quantity: int) -> bool:
        return 0 < quantity <= self.available

    def reserve(self, quantity: int, order_id: str) -> None:
        if not self.can_reserve(quantity):
            raise InsufficientStock(
                f"Only {self.available} of product {self.id} available, {quantity} asked."
            )
        self._record(StockReserved(product_id=self.id, quantity=quantity, order_id=order_id))

    def release(self, quantity: int, order_id: str) -> None:
        self._record(StockReleased(product_id=self.id, quantity=quantity, order_id=order_id))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case StockReceived() | StockReleased():
                self.available += event.quantity
            case StockReserved():
                self.available -= event.quantity
            case _:
                pass


class ReservationState(StrEnum):
    NONE = "NONE"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    VOIDED = "VOIDED"


class StockReservation(Aggregate):
    """The Catalog's decision about one order's stock: ``reservation-<orderId>``.

    It is decided once (confirmed, rejected, or voided by an early cancellation); only a confirmed
    reservation can be released. Writing its first event at version 0 is what makes the decision
    happen exactly once, however often the order's events are delivered.
    """

    stream_prefix = "reservation"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.state = ReservationState.NONE
        self.lines: tuple[ReservedLine, ...] = ()

    @property
    def decided(self) -> bool:
        return self.state is not ReservationState.NONE

    def confirm(self, lines: Sequence[ReservedLine]) -> None:
        self._ensure_undecided()
        self._record(StockReservationConfirmed(order_id=self.id, lines=tuple(lines)))

    def reject(self, short: Sequence[ShortLine]) -> None:
        self._ensure_undecided()
        reason = "Not enough stock for: " + "; ".join(
            f"{line.name} (requested {line.requested}, available {max(line.available, 0)})" for line in short
        )
        self._record(StockReservationRejected(order_id=self.id, reason=reason, short_products=tuple(short)))

    def void(self) -> None:
        self._ensure_undecided()
        self._record(StockReservationVoided(order_id=self.id))

    def release(self) -> None:
        if self.state is not ReservationState.CONFIRMED:
            raise RuleViolated(f"Reservation {self.id} is {self.state}; only a confirmed one is released.")
        self._record(StockReservationReleased(order_id=self.id))

    def _ensure_undecided(self) -> None:
        if self.decided:
            raise RuleViolated(f"Reservation {self.id} is already {self.state}.")

    def apply(self, event: DomainEvent) -> None:
        match event:
            case StockReservationConfirmed():
                self.state, self.lines = ReservationState.CONFIRMED, event.lines
            case StockReservationRejected():
                self.state = ReservationState.REJECTED
            case StockReservationReleased():
                self.state = ReservationState.RELEASED
            case StockReservationVoided():
                self.state = ReservationState.VOIDED
            case _:
                pass

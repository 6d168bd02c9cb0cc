"""Cart rules: one customer, lines of 1 to 99 units of active products, checked out once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr, StringConstraints

from shop.cart.events import (
    CartCheckedOut,
    CartCreated,
    CartItemAdded,
    CartItemQuantityChanged,
    CartItemRemoved,
    CartLine,
)
from shop.domain.aggregate import Aggregate, SnapshotState
from shop.domain.events import DomainEvent
from shop.domain.money import Money
from shop.domain.numbers import WHOLE
from shop.domain.text import identifier, rule
from shop.errors import FieldError, InvalidInput, NotFound, RuleViolated

CustomerId = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=64),
    rule(identifier),
    Field(
        description="One line, no whitespace around it, no control or bidi-override characters, "
        "something visible."
    ),
]
AddQuantity = Annotated[StrictInt, Field(ge=1, le=99), WHOLE]
SetQuantity = Annotated[StrictInt, Field(ge=0, le=99), WHOLE]

MAX_LINE_QUANTITY = 99
#: Distinct products per cart: checkout reserves all lines in one DynamoDB transaction (<= 100 items).
MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class ListedProduct:
    """A product as the Catalog's read side lists it: what the Query API shows is what carts get."""

    product_id: str
    name: str
    price: Money
    active: bool


class UnknownProduct(InvalidInput):
    """Not (yet) visible in the Catalog's read side: the cart cannot know its name or price."""

    def __init__(self, product_id: str) -> None:
        super().__init__([FieldError("productId", f"product {product_id} is not in the catalog")])


class CartNotOpen(RuleViolated):
    code = "cart-not-open"


class ProductNotActive(RuleViolated):
    code = "product-discontinued"


class LineLimitExceeded(RuleViolated):
    code = "line-limit-exceeded"


class EmptyCart(RuleViolated):
    code = "empty-cart"


class CartLineState(SnapshotState):
    product_id: str
    name: str
    quantity: int
    unit_price: Money


class CartState(SnapshotState):
    """A cart as its snapshot keeps it (``Cart.snapshot_schema`` 1)."""

    customer_id: str
    currency: str
    lines: list[CartLineState]
    checked_out: bool
    order_id: str | None


class Cart(Aggregate):
    stream_prefix = "cart"
    snapshot_schema = 1

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.customer_id = ""
        self.currency = ""
        self.lines: dict[str, CartLine] = {}
        self.checked_out = False
        self.order_id: str | None = None

    @classmethod
    def create(cls, cart_id: str, customer_id: str, currency: str) -> Cart:
        cart = cls(cart_id)
        cart._record(CartCreated(cart_id=cart_id, customer_id=customer_id, currency=currency))
        return cart

    def add_item(self, product: ListedProduct, quantity: int) -> None:
        """Adding a product already in the cart increases its quantity, at today's listed price."""
        self._ensure_open()
        self._ensure_active(product)
        current = self.lines.get(product.product_id)
        if current is None and len(self.lines) >= MAX_LINES:
            raise LineLimitExceeded(f"A cart holds at most {MAX_LINES} different products.")
        resulting = quantity + (current.quantity if current else 0)
        if resulting > MAX_LINE_QUANTITY:
            raise LineLimitExceeded(
                f"A line holds at most {MAX_LINE_QUANTITY} units; this would make {resulting}."
            )
        self._record(
            CartItemAdded(
                product_id=product.product_id,
                name=product.name,
                quantity_added=quantity,
                unit_price=product.price,
            )
        )

    def set_quantity(self, product_id: str, quantity: int, product: ListedProduct | None) -> None:
        """Set a line's quantity (0 removes it); the line takes today's listed price."""
        self._ensure_open()
        if quantity == 0:
            if product_id in self.lines:
                self._record(CartItemRemoved(product_id=product_id))
            return
        if product is None:
            raise UnknownProduct(product_id)
        self._ensure_active(product)
        if product_id not in self.lines and len(self.lines) >= MAX_LINES:
            raise LineLimitExceeded(f"A cart holds at most {MAX_LINES} different products.")
        current = self.lines.get(product_id)
        if current and (current.quantity, current.unit_price, current.name) == (
            quantity,
            product.price,
            product.name,
        ):
            return
        self._record(
            CartItemQuantityChanged(
                product_id=product_id, name=product.name, quantity=quantity, unit_price=product.price
            )
        )

    def remove_item(self, product_id: str) -> None:
        self._ensure_open()
        if product_id not in self.lines:
            raise NotFound(f"Product {product_id} is not in cart {self.id}.")
        self._record(CartItemRemoved(product_id=product_id))

    def check_out(self, order_id: str) -> None:
        self._ensure_open()
        if not self.lines:
            raise EmptyCart("An empty cart cannot be checked out.")
        lines = tuple(self.lines.values())
        total = Money.zero(self.currency)
        for line in lines:
            total = total.plus(line.line_total)
        self._record(
            CartCheckedOut(
                cart_id=self.id, order_id=order_id, customer_id=self.customer_id, lines=lines, total=total
            )
        )

    def _ensure_open(self) -> None:
        if self.checked_out:
            raise CartNotOpen(f"Cart {self.id} is checked out and accepts no more changes.")

    @staticmethod
    def _ensure_active(product: ListedProduct) -> None:
        if not product.active:
            raise ProductNotActive(
                f"Product {product.product_id} is discontinued and cannot be added to carts."
            )

    def snapshot_state(self) -> dict[str, Any]:
        lines = [CartLineState(**line.model_dump()) for line in self.lines.values()]
        state = CartState(
            customer_id=self.customer_id,
            currency=self.currency,
            lines=lines,
            checked_out=self.checked_out,
            order_id=self.order_id,
        )
        return state.model_dump(mode="json", by_alias=True)

    def _restore(self, state: Mapping[str, Any]) -> None:
        restored = CartState.model_validate(state)
        self.customer_id, self.currency = restored.customer_id, restored.currency
        self.lines = {line.product_id: CartLine(**line.model_dump()) for line in restored.lines}
        self.checked_out, self.order_id = restored.checked_out, restored.order_id

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CartCreated():
                self.customer_id, self.currency = event.customer_id, event.currency
            case CartItemAdded():
                current = self.lines.get(event.product_id)
                quantity = event.quantity_added + (current.quantity if current else 0)
                self.lines[event.product_id] = CartLine(
                    product_id=event.product_id,
                    name=event.name,
                    quantity=quantity,
                    unit_price=event.unit_price,
                )
            case CartItemQuantityChanged():
                self.lines[event.product_id] = CartLine(
                    product_id=event.product_id,
                    name=event.name,
                    quantity=event.quantity,
                    unit_price=event.unit_price,
                )
            case CartItemRemoved():
                self.lines.pop(event.product_id, None)
            case CartCheckedOut():
                self.checked_out, self.order_id = True, event.order_id
            case _:
                pass

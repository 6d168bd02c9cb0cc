"""Order rules: PENDING until stock decides, CONFIRMED or REJECTED; PENDING or CONFIRMED can be cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from shop.domain.aggregate import Aggregate
from shop.domain.events import DomainEvent
from shop.domain.money import Money
from shop.errors import RuleViolated
from shop.orders.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    ShortProduct,
)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class OrderNotCancellable(RuleViolated):
    code = "order-not-cancellable"


class Order(Aggregate):
    stream_prefix = "order"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: OrderStatus | None = None
        self.customer_id = ""
        self.lines: tuple[OrderLine, ...] = ()

    @classmethod
    def place(
        cls,
        order_id: str,
        *,
        cart_id: str,
        customer_id: str,
        lines: Sequence[OrderLine],
        total: Money,
        placed_at: str,
    ) -> Order:
        if not lines:
            raise ValueError("an order needs at least one line")
        order = cls(order_id)
        order._record(
            OrderPlaced(
                order_id=order_id,
                cart_id=cart_id,
                customer_id=customer_id,
                lines=tuple(lines),
                total=total,
                placed_at=placed_at,
            )
        )
        return order

    def confirm(self) -> None:
        """Stock was reserved. Only a PENDING order changes; otherwise this is a no-op (redelivery)."""
        if self.status is OrderStatus.PENDING:
            self._record(OrderConfirmed(order_id=self.id))

    def reject(self, reason: str, short_products: Sequence[ShortProduct]) -> None:
        if self.status is OrderStatus.PENDING:
            self._record(OrderRejected(order_id=self.id, reason=reason, short_products=tuple(short_products)))

    def cancel(self) -> None:
        if self.status not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
            raise OrderNotCancellable(f"Order {self.id} is {self.status} and cannot be cancelled.")
        self._record(OrderCancelled(order_id=self.id))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case OrderPlaced():
                self.status, self.customer_id, self.lines = (
                    OrderStatus.PENDING,
                    event.customer_id,
                    event.lines,
                )
            case OrderConfirmed():
                self.status = OrderStatus.CONFIRMED
            case OrderRejected():
                self.status = OrderStatus.REJECTED
            case OrderCancelled():
                self.status = OrderStatus.CANCELLED
            case _:
                pass

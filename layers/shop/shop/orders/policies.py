"""Orders policies: place orders from checked-out carts; settle them when stock decides.

Both read other services' events through tolerant ``Message`` models (only the fields they need),
and both are idempotent: the order stream's own versioning turns a redelivered event into a no-op.
"""

from __future__ import annotations

from shop.application import Caller, CommandContext, Repository, run_command
from shop.application.messages import Message
from shop.domain.money import Money
from shop.eventstore.model import RecordedEvent, format_timestamp
from shop.eventstore.store import ConcurrencyError
from shop.orders.domain import Order
from shop.orders.events import OrderLine, ShortProduct


class CheckedOutLine(Message):
    product_id: str
    name: str
    quantity: int
    unit_price: Money


class CartCheckedOutMessage(Message):
    """``CartCheckedOut`` (Cart service) as the Orders service reads it."""

    cart_id: str
    order_id: str
    customer_id: str
    lines: tuple[CheckedOutLine, ...]
    total: Money


class ShortProductMessage(Message):
    product_id: str
    name: str
    requested: int
    available: int


class ReservationOutcomeMessage(Message):
    """``StockReservationConfirmed`` / ``StockReservationRejected`` (Catalog) as Orders reads them."""

    order_id: str
    reason: str = ""
    short_products: tuple[ShortProductMessage, ...] = ()


def policy_context(event: RecordedEvent) -> CommandContext:
    """Commands a policy issues belong to the triggering event's correlation, are caused by it, and
    act for its actor (with no group: a policy applies no access rule)."""
    return CommandContext(
        correlation_id=event.metadata.correlation_id,
        causation_id=event.event_id,
        caller=Caller(event.metadata.actor),
    )


class OrderIntakePolicy:
    """CartCheckedOut -> PlaceOrder (PENDING). The order id comes from the event, so a redelivery
    finds the order stream already written and does nothing."""

    name = "OrderIntakePolicy"
    handles = frozenset({"CartCheckedOut"})

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    def handle(self, event: RecordedEvent) -> None:
        message = CartCheckedOutMessage.model_validate(event.data)
        order = Order.place(
            message.order_id,
            cart_id=message.cart_id,
            customer_id=message.customer_id,
            lines=[
                OrderLine(
                    product_id=line.product_id,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in message.lines
            ],
            total=message.total,
            placed_at=format_timestamp(event.occurred_at),
        )
        try:
            self._repository.save(order, metadata=policy_context(event).metadata)
        except ConcurrencyError:
            return  # placed by an earlier delivery of this event


class OrderFulfilmentPolicy:
    """Stock reserved -> ConfirmOrder; stock short -> RejectOrder. Only a PENDING order changes."""

    name = "OrderFulfilmentPolicy"
    handles = frozenset({"StockReservationConfirmed", "StockReservationRejected"})

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    def handle(self, event: RecordedEvent) -> None:
        message = ReservationOutcomeMessage.model_validate(event.data)
        if event.type == "StockReservationConfirmed":
            run_command(self._repository, Order, message.order_id, Order.confirm, policy_context(event))
            return
        short = [ShortProduct.model_validate(p.model_dump()) for p in message.short_products]
        run_command(
            self._repository,
            Order,
            message.order_id,
            lambda order: order.reject(message.reason, short),
            policy_context(event),
        )

"""StockReservationPolicy: the Catalog decides each order's stock, all lines at once.

Consumes the Orders event store's stream (``OrderPlaced``, ``OrderCancelled``) and writes only the
Catalog's event store:

* ``OrderPlaced``: load every line's stock; if all are covered, one transaction appends
  ``StockReserved`` to each ``stock-<productId>`` (each conditional on the version read) and
  ``StockReservationConfirmed`` to ``reservation-<orderId>`` (conditional on it not existing).
  Otherwise ``StockReservationRejected`` alone. A concurrent reservation of the same stock makes
  the transaction fail as a whole; the policy reloads and decides again. Stock is never oversold.
* ``OrderCancelled``: a confirmed reservation is released (``StockReleased`` on each stock plus
  ``StockReservationReleased``, one transaction); an undecided one is voided so that a late
  ``OrderPlaced`` reserves nothing.

Redelivery finds ``reservation-<orderId>`` already decided and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from shop.application import Repository
from shop.application.messages import Message
from shop.application.retry import retry_on_conflict
from shop.catalog.domain import ReservationState, Stock, StockReservation
from shop.catalog.events import ReservedLine, ShortLine
from shop.eventstore.model import EventMetadata, RecordedEvent, caused_by

#: Attempts when concurrent reservations keep winning the race, within at most ``TIME_BUDGET``
#: seconds per event; then the record fails and Lambda delivers it again later.
RETRIES = 12
TIME_BUDGET = 4.0


class OrderLineMessage(Message):
    product_id: str
    name: str
    quantity: int


class OrderPlacedMessage(Message):
    """``OrderPlaced`` (Orders service) as the Catalog reads it."""

    order_id: str
    lines: tuple[OrderLineMessage, ...]


class OrderCancelledMessage(Message):
    order_id: str


class StockReservationPolicy:
    name = "StockReservationPolicy"
    handles = frozenset({"OrderPlaced", "OrderCancelled"})

    def __init__(
        self, repository: Repository, retries: int = RETRIES, time_budget: float = TIME_BUDGET
    ) -> None:
        self._repository = repository
        self._retries = retries
        self._time_budget = time_budget

    def handle(self, event: RecordedEvent) -> None:
        metadata = caused_by(event)
        if event.type == "OrderPlaced":
            placed = OrderPlacedMessage.model_validate(event.data)
            self._until_decided(lambda: self._reserve(placed, metadata), placed.order_id)
        else:
            cancelled = OrderCancelledMessage.model_validate(event.data)
            self._until_decided(lambda: self._cancel(cancelled, metadata), cancelled.order_id)

    def _until_decided(self, attempt: Callable[[], None], order_id: str) -> None:
        retry_on_conflict(
            attempt,
            retries=self._retries,
            time_budget=self._time_budget,
            what=f"{self.name}: the stock of order {order_id}",
        )

    def _reserve(self, order: OrderPlacedMessage, metadata: EventMetadata) -> None:
        reservation = self._repository.load(StockReservation, order.order_id)
        if reservation.decided:
            return
        stocks = {line.product_id: self._repository.load(Stock, line.product_id) for line in order.lines}
        short = [
            ShortLine(
                product_id=line.product_id,
                name=line.name,
                requested=line.quantity,
                available=stocks[line.product_id].available,
            )
            for line in order.lines
            if not stocks[line.product_id].can_reserve(line.quantity)
        ]
        if short:
            reservation.reject(short)
            self._repository.save(reservation, metadata=metadata)
            return
        for line in order.lines:
            stocks[line.product_id].reserve(line.quantity, order.order_id)
        reservation.confirm(
            [ReservedLine(product_id=line.product_id, quantity=line.quantity) for line in order.lines]
        )
        self._repository.save(reservation, *stocks.values(), metadata=metadata)

    def _cancel(self, order: OrderCancelledMessage, metadata: EventMetadata) -> None:
        reservation = self._repository.load(StockReservation, order.order_id)
        if reservation.state is ReservationState.NONE:
            reservation.void()
            self._repository.save(reservation, metadata=metadata)
        elif reservation.state is ReservationState.CONFIRMED:
            stocks = [self._repository.load(Stock, line.product_id) for line in reservation.lines]
            for stock, line in zip(stocks, reservation.lines, strict=True):
                stock.release(line.quantity, order.order_id)
            reservation.release()
            self._repository.save(reservation, *stocks, metadata=metadata)

"""StockReservationPolicy: OrderPlaced / OrderCancelled (Order stream) -> reserve / release stock;
parks what it gives up on (docs/parking.md)."""

from shop.catalog.wiring import stock_reservations, stock_reservations_parking
from shop.orders.events import order_events
from shop.streams import policy_handler

handler = policy_handler(
    stock_reservations, stock_reservations_parking, source=order_events, name="StockReservationPolicy"
)

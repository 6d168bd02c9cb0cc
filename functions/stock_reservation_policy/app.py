"""StockReservationPolicy: OrderPlaced / OrderCancelled (Order stream) -> reserve / release stock."""

from shop.catalog.wiring import stock_reservations
from shop.orders.events import order_events
from shop.streams import policy_handler

handler = policy_handler(stock_reservations, source=order_events)

"""OrderProjector: Order event store stream -> OrdersView."""

from shop.orders.events import order_events
from shop.orders.wiring import orders_projector
from shop.streams import projector_handler

handler = projector_handler(orders_projector, source=order_events)

"""OrderProjector: Order event store stream -> OrdersView."""

from shop.orders.wiring import orders_projector
from shop.streams import projector_handler

handler = projector_handler(orders_projector)

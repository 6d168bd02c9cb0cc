"""OrderProjector: Order event store stream -> OrdersView; parks what it gives up on (docs/parking.md)."""

from shop.orders.events import order_events
from shop.orders.wiring import orders_projector, orders_projector_parking
from shop.streams import projector_handler

handler = projector_handler(
    orders_projector, orders_projector_parking, source=order_events, name="OrderProjector"
)

"""CartProjector: Cart event store stream -> CartsView; parks what it gives up on (docs/parking.md)."""

from shop.cart.events import cart_events
from shop.cart.wiring import carts_projector, carts_projector_parking
from shop.streams import projector_handler

handler = projector_handler(
    carts_projector, carts_projector_parking, source=cart_events, name="CartProjector"
)

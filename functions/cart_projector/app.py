"""CartProjector: Cart event store stream -> CartsView."""

from shop.cart.events import cart_events
from shop.cart.wiring import carts_projector
from shop.streams import projector_handler

handler = projector_handler(carts_projector, source=cart_events)

"""OrderIntakePolicy: CartCheckedOut (Cart stream) -> PlaceOrder (Order event store)."""

from shop.cart.events import cart_events
from shop.orders.wiring import order_intake
from shop.streams import policy_handler

handler = policy_handler(order_intake, source=cart_events)

"""OrderIntakePolicy: CartCheckedOut (Cart stream) -> PlaceOrder (Order event store);
parks what it gives up on (docs/parking.md)."""

from shop.cart.events import cart_events
from shop.orders.wiring import order_intake, order_intake_parking
from shop.streams import policy_handler

handler = policy_handler(order_intake, order_intake_parking, source=cart_events, name="OrderIntakePolicy")

"""OrderFulfilmentPolicy: stock reservation outcome (Catalog stream) -> confirm or reject the order;
parks what it gives up on (docs/parking.md)."""

from shop.catalog.events import catalog_events
from shop.orders.wiring import order_fulfilment, order_fulfilment_parking
from shop.streams import policy_handler

handler = policy_handler(
    order_fulfilment, order_fulfilment_parking, source=catalog_events, name="OrderFulfilmentPolicy"
)

"""OrderFulfilmentPolicy: stock reservation outcome (Catalog stream) -> confirm or reject the order."""

from shop.catalog.events import catalog_events
from shop.orders.wiring import order_fulfilment
from shop.streams import policy_handler

handler = policy_handler(order_fulfilment, source=catalog_events)

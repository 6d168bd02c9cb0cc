"""OrderQueries: the Order routes of the Query API (read-only on OrdersView)."""

from shop.http import http_handler
from shop.orders.api import queries

handler = http_handler(queries)

"""CartQueries: the Cart routes of the Query API (read-only on CartsView)."""

from shop.cart.api import queries
from shop.http import http_handler

handler = http_handler(queries)

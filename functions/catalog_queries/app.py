"""CatalogQueries: the Catalog routes of the Query API (read-only on ProductsView)."""

from shop.catalog.api import queries
from shop.http import http_handler

handler = http_handler(queries)

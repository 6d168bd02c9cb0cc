"""CatalogCommands: the Catalog routes of the Command API."""

from shop.catalog.api import commands
from shop.http import http_handler

handler = http_handler(commands, idempotent=True)

"""CartCommands: the Cart routes of the Command API."""

from shop.cart.api import commands
from shop.http import http_handler

handler = http_handler(commands, idempotent=True)

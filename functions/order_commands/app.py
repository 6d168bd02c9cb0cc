"""OrderCommands: the Order routes of the Command API."""

from shop.http import http_handler
from shop.orders.api import commands

handler = http_handler(commands, idempotent=True)

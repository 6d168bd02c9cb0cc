"""The ``$default`` route of both APIs: a problem response, 405 for a known path, else 404."""

from shop import apis
from shop.http import http_handler

command_api = http_handler(known_routes=apis.routes(apis.command_api()))
query_api = http_handler(known_routes=apis.routes(apis.query_api()))

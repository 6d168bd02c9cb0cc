"""Which routers make up each HTTP API; ``template.yaml`` must agree (tests/template checks it).

Used by the ``$default`` route of each API, so that a known path with another method is a 405
(with ``Allow``) and an unknown path a 404, both as problem responses.
"""

from __future__ import annotations

from shop.http.router import ShopRouter


def command_api() -> list[ShopRouter]:
    from shop.cart.api import commands as cart  # noqa: PLC0415 - import on first use
    from shop.catalog.api import commands as catalog  # noqa: PLC0415
    from shop.orders.api import commands as orders  # noqa: PLC0415

    return [catalog, cart, orders]


def query_api() -> list[ShopRouter]:
    from shop.cart.api import queries as cart  # noqa: PLC0415
    from shop.catalog.api import queries as catalog  # noqa: PLC0415
    from shop.orders.api import queries as orders  # noqa: PLC0415

    return [catalog, cart, orders]


def routes(routers: list[ShopRouter]) -> list[tuple[str, str]]:
    return [route for router in routers for route in router.declared]

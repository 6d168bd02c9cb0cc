"""The sample events in ``events/``: one or more per function, addressing the demo fixtures.

``python -m local.demo.samples`` regenerates every file in ``events/`` (a test keeps them current).
HTTP samples are API Gateway HTTP API (payload 2.0) events built by the same code the local stack
routes with; on routes behind the JWT authorizer they carry a caller's claims in
``requestContext.authorizer.jwt`` exactly as the authorizer (``local.aws.authorizers``) presents
them. ``sam local invoke`` hands a sample to the function as it is, without any authorizer: the
``*-without-token`` sample shows what the function itself answers then (403), the local stack's
API emulation answers its request 401 before any function runs. The ``*-with-idempotency-key``
sample carries an ``Idempotency-Key``: invoked twice, its second answer is the first one replayed
(``Idempotent-Replayed: true``, nothing appended). Stream samples are DynamoDB Streams records of
commits encoded by the event store's own codec, each event at the current schema version of its type.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from local import ROOT
from local.aws.apigw import HttpRequest, RouteMatch, build_event
from local.aws.authorizers import claim_text
from local.aws.template import Template
from local.demo.fixtures import (
    AT,
    CHECKOUT_CART,
    DEMO_ADMIN,
    DEMO_CUSTOMER,
    META,
    OPEN_CART,
    OTHER_CUSTOMER,
    SAMPLE_ORDER,
    STREAM_CART,
    STREAM_ORDER,
    product_id,
)
from local.demo.seed import DEMO_PRODUCTS

EVENTS = ROOT / "events"
STREAM_ARN_PREFIX = "arn:aws:dynamodb:us-east-1:123456789012:table/"
SAMPLE_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_SAMPLE0001"
SAMPLE_CLIENT = "5ample0c1ient0id0000000000"
#: The key of the sample sent with an ``Idempotency-Key``.
SAMPLE_IDEMPOTENCY_KEY = "0d6f3c52-7b1e-4c8a-9f2d-5a4b3c2d1e0f"
#: caller -> (sub, username, groups)
CALLERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "customer": (DEMO_CUSTOMER, "demo-customer", ()),
    "other": (OTHER_CUSTOMER, "other-customer", ()),
    "admin": (DEMO_ADMIN, "demo-admin", ("admin",)),
}


def authorizer_context(caller: str) -> dict[str, Any]:
    """What the JWT authorizer passes for a Cognito access token of ``caller`` (payload 2.0)."""
    sub, username, groups = CALLERS[caller]
    epoch = int(AT.timestamp())
    claims: dict[str, Any] = {
        "auth_time": epoch,
        "client_id": SAMPLE_CLIENT,
        "exp": epoch + 3600,
        "iat": epoch,
        "iss": SAMPLE_ISSUER,
        "jti": f"{sub[:-4]}0017",
        "origin_jti": f"{sub[:-4]}0018",
        "scope": "aws.cognito.signin.user.admin",
        "sub": sub,
        "token_use": "access",
        "username": username,
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    return {"jwt": {"claims": {name: claim_text(value) for name, value in claims.items()}, "scopes": None}}


def _http(
    template: Template,
    method: str,
    path: str,
    body: Any = None,
    query: str = "",
    api: str = "",
    caller: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event of ``method path``; ``caller`` is whose verified token the authorizer let through
    (None: no token, as on a public route); ``headers`` are sent too."""
    routes = {(r.method, r.path): r for r in template.routes}
    if api:
        route = next(r for r in template.routes_of(api) if r.path == "$default")
        params: dict[str, str] = {}
    else:
        route, params = _route_for(routes, method, path)
    sent = {"host": "localhost", "user-agent": "curl/8.5.0", "accept": "*/*"}
    if caller is not None:
        sent["authorization"] = f"Bearer <an access token of {CALLERS[caller][1]}>"
    if body is not None:
        sent["content-type"] = "application/json"
    sent.update(headers or {})
    request = HttpRequest(method, path, query, sent, json.dumps(body).encode() if body is not None else b"")
    granted = authorizer_context(caller) if caller is not None else None
    event = build_event(request, RouteMatch(route, params), api_id="sample", authorizer=granted)
    event["requestContext"]["requestId"] = "sample-request"
    event["requestContext"]["time"] = AT.strftime("%d/%b/%Y:%H:%M:%S +0000")
    event["requestContext"]["timeEpoch"] = int(AT.timestamp() * 1000)
    return event


def _route_for(routes: Mapping[tuple[str, str], Any], method: str, path: str) -> tuple[Any, dict[str, str]]:
    from local.aws.apigw import HttpApiRoutes  # noqa: PLC0415

    found = HttpApiRoutes([r for (m, _), r in routes.items() if m == method]).match(method, path)
    if found is None:
        raise KeyError(f"no route for {method} {path}")
    return found.route, found.path_parameters


def _records(
    table: str, commits: Sequence[tuple[str, int, Sequence[tuple[str, dict[str, Any]]]]]
) -> dict[str, Any]:
    from shop.cart.events import cart_events  # noqa: PLC0415
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.eventstore.codec import encode_commit  # noqa: PLC0415
    from shop.eventstore.model import EventMetadata, NewEvent  # noqa: PLC0415
    from shop.orders.events import order_events  # noqa: PLC0415

    versions = {
        cls.type_name(): cls.schema_version for r in (catalog_events, cart_events, order_events) for cls in r
    }
    records = []
    for index, (stream_id, first_version, events) in enumerate(commits, start=1):
        new = [
            NewEvent(kind, data, versions[kind], f"4b7c1e55-8f0e-4a5e-9d8e-{index:06d}{n:06d}", AT)
            for n, (kind, data) in enumerate(events)
        ]
        image = encode_commit(stream_id, first_version - 1, new, EventMetadata(*META))
        records.append(
            {
                "eventID": f"sample{index}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": int(AT.timestamp()),
                    "Keys": {"streamId": image["streamId"], "version": image["version"]},
                    "NewImage": image,
                    "SequenceNumber": str(1100000000017454423009 + index),
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": f"{STREAM_ARN_PREFIX}{table}/stream/2026-11-26T09:00:00.000",
            }
        )
    return {"Records": records}


def _money(cents: int) -> dict[str, Any]:
    return {"amount": cents, "currency": "EUR"}


def _line(sku: str, quantity: int) -> dict[str, Any]:
    _, name, _, cents, _, _ = next(p for p in DEMO_PRODUCTS if p[0] == sku)
    return {"productId": product_id(sku), "name": name, "quantity": quantity, "unitPrice": _money(cents)}


def samples(template: Template) -> dict[str, dict[str, Any]]:
    cup, legacy, beans = product_id("ESP-CUP-01"), product_id("LEGACY-DRIPPER"), product_id("BEANS-ETH-250")
    press, stream_product = product_id("FRENCH-PRESS"), product_id("SAMPLE-STREAM-01")
    kettle = _line("KETTLE-GOOSE", 1)
    http = lambda *args, **kwargs: _http(template, *args, **kwargs)  # noqa: E731
    placed = {
        "orderId": STREAM_ORDER,
        "cartId": STREAM_CART,
        "customerId": "stream-customer",
        "lines": [kettle],
        "total": kettle["unitPrice"],
        "placedAt": "2026-11-26T09:00:00.000000Z",
    }
    order_placed = _records("OrderEventStore", [(f"order-{STREAM_ORDER}", 1, [("OrderPlaced", placed)])])
    tea = {
        "sku": "SAMPLE-TEA-01",
        "name": "Sencha tea 100 g",
        "description": "Green tea from Shizuoka.",
        "category": "tea",
        "price": _money(890),
    }
    return {
        "CatalogCommands/create-product.json": http("POST", "/products", tea, caller="admin"),
        "CatalogCommands/create-product-as-customer.json": http("POST", "/products", tea, caller="customer"),
        "CatalogCommands/create-product-without-token.json": http("POST", "/products", tea),
        "CatalogCommands/change-product-details.json": http(
            "PATCH", f"/products/{cup}", {"description": "Porcelain, 80 ml, dishwasher safe."}, caller="admin"
        ),
        "CatalogCommands/change-product-price.json": http(
            "PUT", f"/products/{cup}/price", _money(1399), caller="admin"
        ),
        "CatalogCommands/discontinue-product.json": http(
            "POST", f"/products/{legacy}/discontinue", caller="admin"
        ),
        "CatalogCommands/receive-stock.json": http(
            "POST", f"/products/{beans}/stock", {"quantity": 10}, caller="admin"
        ),
        "CatalogCommands/receive-stock-with-idempotency-key.json": http(
            "POST",
            f"/products/{beans}/stock",
            {"quantity": 12},
            caller="admin",
            headers={"idempotency-key": SAMPLE_IDEMPOTENCY_KEY},
        ),
        "CatalogQueries/list-products.json": http("GET", "/products", query="category=coffee&limit=2"),
        "CatalogQueries/get-product.json": http("GET", f"/products/{cup}"),
        # The cup's ETag once the demo is seeded (version 1, stock version 1): unchanged, a 304.
        "CatalogQueries/get-product-unchanged.json": http(
            "GET", f"/products/{cup}", headers={"if-none-match": '"1.1"'}
        ),
        "CommandApiFallback/method-not-allowed.json": http("GET", "/products", api="CommandApi"),
        "QueryApiFallback/not-found.json": http("GET", "/no/such/resource", api="QueryApi"),
        "CatalogProjector/catalog-stream.json": _records(
            "CatalogEventStore",
            [
                (
                    f"product-{stream_product}",
                    1,
                    [
                        (
                            "ProductCreated",
                            {
                                "productId": stream_product,
                                "sku": "SAMPLE-STREAM-01",
                                "name": "Stream sample",
                                "description": "Made by a sample stream record.",
                                "category": "samples",
                                "price": _money(100),
                            },
                        )
                    ],
                ),
                (
                    f"stock-{stream_product}",
                    1,
                    [("StockReceived", {"productId": stream_product, "quantity": 7})],
                ),
            ],
        ),
        "CartCommands/create-cart.json": http("POST", "/carts", {}, caller="customer"),
        "CartCommands/create-cart-for-a-customer.json": http(
            "POST", "/carts", {"customerId": DEMO_CUSTOMER}, caller="admin"
        ),
        "CartCommands/add-cart-item.json": http(
            "POST", f"/carts/{OPEN_CART}/items", {"productId": beans, "quantity": 2}, caller="customer"
        ),
        "CartCommands/set-cart-item-quantity.json": http(
            "PUT", f"/carts/{OPEN_CART}/items/{press}", {"quantity": 3}, caller="customer"
        ),
        "CartCommands/remove-cart-item.json": http(
            "DELETE", f"/carts/{OPEN_CART}/items/{cup}", caller="customer"
        ),
        "CartCommands/check-out-cart.json": http(
            "POST", f"/carts/{CHECKOUT_CART}/checkout", caller="customer"
        ),
        "CartQueries/get-cart.json": http("GET", f"/carts/{OPEN_CART}", caller="customer"),
        "CartQueries/get-cart-of-another-customer.json": http("GET", f"/carts/{OPEN_CART}", caller="other"),
        "CartProjector/cart-stream.json": _records(
            "CartEventStore",
            [
                (
                    f"cart-{STREAM_CART}",
                    1,
                    [
                        (
                            "CartCreated",
                            {"cartId": STREAM_CART, "customerId": "stream-customer", "currency": "EUR"},
                        ),
                        (
                            "CartItemAdded",
                            {
                                "productId": kettle["productId"],
                                "name": kettle["name"],
                                "quantityAdded": 1,
                                "unitPrice": kettle["unitPrice"],
                            },
                        ),
                    ],
                )
            ],
        ),
        "OrderIntakePolicy/cart-checked-out.json": _records(
            "CartEventStore",
            [
                (
                    f"cart-{STREAM_CART}",
                    3,
                    [
                        (
                            "CartCheckedOut",
                            {
                                "cartId": STREAM_CART,
                                "orderId": STREAM_ORDER,
                                "customerId": "stream-customer",
                                "lines": [kettle],
                                "total": kettle["unitPrice"],
                            },
                        )
                    ],
                )
            ],
        ),
        "OrderCommands/cancel-order.json": http("POST", f"/orders/{SAMPLE_ORDER}/cancel", caller="customer"),
        "OrderQueries/get-order.json": http("GET", f"/orders/{SAMPLE_ORDER}", caller="customer"),
        "OrderQueries/list-customer-orders.json": http(
            "GET", f"/customers/{DEMO_CUSTOMER}/orders", query="limit=5", caller="customer"
        ),
        "OrderQueries/list-another-customers-orders.json": http(
            "GET", f"/customers/{DEMO_CUSTOMER}/orders", query="limit=5", caller="other"
        ),
        # The same stream record reaches both consumers of the order stream.
        "OrderProjector/order-stream.json": order_placed,
        "StockReservationPolicy/order-placed.json": order_placed,
        "OrderFulfilmentPolicy/reservation-confirmed.json": _records(
            "CatalogEventStore",
            [
                (
                    f"reservation-{SAMPLE_ORDER}",
                    1,
                    [
                        (
                            "StockReservationConfirmed",
                            {
                                "orderId": SAMPLE_ORDER,
                                "lines": [{"productId": product_id("GRINDER-HAND"), "quantity": 1}],
                            },
                        )
                    ],
                )
            ],
        ),
    }


def render(sample: Mapping[str, Any]) -> str:
    return json.dumps(sample, indent=2) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else EVENTS
    for name, sample in samples(Template()).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(sample))
    print(f"wrote {len(samples(Template()))} samples to {target}")


if __name__ == "__main__":
    main()

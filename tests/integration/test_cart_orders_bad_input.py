"""Bad input to every Cart and Order route: the 4xx of spec section 4, and nothing appended."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_catalog_bad_input import DEEP_NESTING, HUGE_INTEGER, assert_problem

UNKNOWN = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"


def count(stack: Any, table: str) -> int:
    return int(stack.clients.dynamodb.scan(TableName=stack.physical[table], Select="COUNT")["Count"])


@pytest.fixture(scope="module")
def shared(template: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """One stack and world for the tests whose input must change nothing (each checks its own
    before and after), so they can share them: seeding per test took 1-6 s. Tests whose input may
    change the world are in ``test_cart_orders_fuzzed_bodies.py``, on a stack of their own."""
    from local.stack.inprocess import in_process_stack  # noqa: PLC0415 - as tests/conftest.py does

    with in_process_stack(template) as running:
        yield running, seed(running)


def seed(stack: Any) -> dict[str, str]:
    """An open cart with a line, an empty one, a checked-out one (its order rejected and then not
    cancellable), and a discontinued product."""

    def product(sku: str, units: int) -> str:
        body = {"sku": sku, "name": sku.title(), "category": "c", "price": {"amount": 100, "currency": "EUR"}}
        product_id = str(stack.command("POST", "/products", body).json()["productId"])
        stack.command("POST", f"/products/{product_id}/stock", {"quantity": units})
        return product_id

    cup, old, rare = product("CUP", 10), product("OLD", 5), product("RARE", 0)
    stack.command("POST", f"/products/{old}/discontinue")
    stack.pump()
    open_cart = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    stack.command("POST", f"/carts/{open_cart}/items", {"productId": cup, "quantity": 98})
    empty_cart = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    done_cart = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    stack.command("POST", f"/carts/{done_cart}/items", {"productId": rare, "quantity": 1})
    rejected = stack.command("POST", f"/carts/{done_cart}/checkout").json()["orderId"]
    stack.pump()
    stack.command("POST", f"/orders/{rejected}/cancel")
    return {
        "open": open_cart,
        "empty": empty_cart,
        "done": done_cart,
        "cup": cup,
        "old": old,
        "rejected": rejected,
    }


BAD: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/carts", {"customerId": None}, 422, "validation-failed"),  # {} is the caller's own cart
    ("POST", "/carts", {"customerId": ""}, 422, "validation-failed"),
    ("POST", "/carts", {"customerId": "x" * 65}, 422, "validation-failed"),
    ("POST", "/carts", {"customerId": 42}, 422, "validation-failed"),
    ("POST", "/carts", {"customerId": "a", "extra": 1}, 422, "validation-failed"),
    ("POST", "/carts", b"{", 400, "malformed-json"),
    ("POST", "/carts", DEEP_NESTING, 400, "malformed-json"),
    ("POST", "/carts/{open}/items", f'{{"quantity": {HUGE_INTEGER}}}'.encode(), 400, "malformed-json"),
    ("POST", "/carts/{open}/items", DEEP_NESTING, 400, "malformed-json"),
    # 98 + 2 > 99
    ("POST", "/carts/{open}/items", {"productId": "{cup}", "quantity": 2}, 409, "line-limit-exceeded"),
    ("POST", "/carts/{open}/items", {"productId": "{cup}", "quantity": 0}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"productId": "{cup}", "quantity": 100}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"productId": "{cup}", "quantity": "1"}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"productId": "{old}", "quantity": 1}, 409, "product-discontinued"),
    ("POST", "/carts/{open}/items", {"productId": UNKNOWN, "quantity": 1}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"productId": "not-a-uuid", "quantity": 1}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"productId": 7, "quantity": 1}, 422, "validation-failed"),
    ("POST", "/carts/{open}/items", {"quantity": 1}, 422, "validation-failed"),
    ("POST", f"/carts/{UNKNOWN}/items", {"productId": "{cup}", "quantity": 1}, 404, "not-found"),
    ("POST", "/carts/nope/items", {"productId": "{cup}", "quantity": 1}, 404, "not-found"),
    ("POST", "/carts/{done}/items", {"productId": "{cup}", "quantity": 1}, 409, "cart-not-open"),
    ("PUT", "/carts/{open}/items/{cup}", {"quantity": -1}, 422, "validation-failed"),
    ("PUT", "/carts/{open}/items/{cup}", {"quantity": 100}, 422, "validation-failed"),
    ("PUT", "/carts/{open}/items/{cup}", {}, 422, "validation-failed"),
    ("PUT", "/carts/{open}/items/{cup}", f'{{"quantity": {HUGE_INTEGER}}}'.encode(), 400, "malformed-json"),
    ("PUT", "/carts/{open}/items/{cup}", DEEP_NESTING, 400, "malformed-json"),
    ("PUT", "/carts/{open}/items/{old}", {"quantity": 1}, 409, "product-discontinued"),
    ("PUT", f"/carts/{{open}}/items/{UNKNOWN}", {"quantity": 1}, 422, "validation-failed"),
    ("PUT", "/carts/{open}/items/not-a-uuid", {"quantity": 1}, 404, "not-found"),
    ("PUT", "/carts/{done}/items/{cup}", {"quantity": 1}, 409, "cart-not-open"),
    ("DELETE", "/carts/{open}/items/{old}", None, 404, "not-found"),
    ("DELETE", "/carts/{done}/items/{cup}", None, 409, "cart-not-open"),
    ("DELETE", f"/carts/{UNKNOWN}/items/{{cup}}", None, 404, "not-found"),
    ("POST", "/carts/{empty}/checkout", None, 409, "empty-cart"),
    ("POST", "/carts/{done}/checkout", None, 409, "cart-not-open"),
    ("POST", f"/carts/{UNKNOWN}/checkout", None, 404, "not-found"),
    ("POST", "/orders/{rejected}/cancel", None, 409, "order-not-cancellable"),
    ("POST", f"/orders/{UNKNOWN}/cancel", None, 404, "not-found"),
    ("POST", "/orders/xyz/cancel", None, 404, "not-found"),
    # The Command API has no such path: reads are on the Query API.
    ("GET", "/carts/{open}", None, 404, "not-found"),
    ("PATCH", "/carts/{open}/items/{cup}", None, 405, "method-not-allowed"),
    ("GET", "/orders/{rejected}/cancel", None, 405, "method-not-allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD)
def test_bad_cart_and_order_commands(
    shared: tuple[Any, dict[str, str]], method: str, path: str, body: Any, status: int, code: str
) -> None:
    stack, world = shared

    def fill(text: str) -> str:
        return text.format(**world)

    if isinstance(body, dict):
        body = {k: fill(v) if isinstance(v, str) else v for k, v in body.items()}
    before = {t: count(stack, t) for t in ("CartEventStore", "OrderEventStore")}
    problem = assert_problem(stack.command(method, fill(path), body), status, code)
    if status == 422:
        assert problem["errors"]
    assert {t: count(stack, t) for t in ("CartEventStore", "OrderEventStore")} == before


QUERIES = [
    (f"/carts/{UNKNOWN}", 404, "not-found"),
    ("/carts/nope", 404, "not-found"),
    (f"/orders/{UNKNOWN}", 404, "not-found"),
    ("/orders/%20", 404, "not-found"),
    (f"/customers/{'x' * 65}/orders", 404, "not-found"),
    ("/customers/alice/orders?limit=0", 400, "bad-request"),
    ("/customers/alice/orders?limit=x", 400, "bad-request"),
    ("/customers/alice/orders?cursor=abc", 400, "bad-request"),
]


@pytest.mark.parametrize(("path", "status", "code"), QUERIES)
def test_bad_cart_and_order_queries(
    shared: tuple[Any, dict[str, str]], path: str, status: int, code: str
) -> None:
    stack, _ = shared
    assert_problem(stack.query("GET", path), status, code)

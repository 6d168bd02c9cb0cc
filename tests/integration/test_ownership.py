"""Who may do what, route by route, through the emulated JWT authorizer and the real handlers.

Customers (alice, bob) own their carts and orders; the admin changes the catalog and acts for
anyone. Someone else's cart or order is answered exactly like one that does not exist; naming
another customer is a 403; a refusal appends nothing. Every event records who caused it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.test_catalog_bad_input import assert_problem

UNKNOWN = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"
STORES = ("CatalogEventStore", "CartEventStore", "OrderEventStore")


def items(stack: Any, table: str) -> list[dict[str, Any]]:
    return list(stack.clients.dynamodb.scan(TableName=stack.physical[table])["Items"])


def counts(stack: Any) -> dict[str, int]:
    return {table: len(items(stack, table)) for table in STORES}


@pytest.fixture
def shop(stack: Any) -> dict[str, str]:
    """A stocked product; bob's open cart and bob's confirmed order; alice's open cart."""
    body = {"sku": "CUP", "name": "Cup", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}}
    cup = stack.command("POST", "/products", body).json()["productId"]
    assert stack.command("POST", f"/products/{cup}/stock", {"quantity": 10}).status == 200
    stack.pump()

    def cart(user: str) -> str:
        created = stack.command("POST", "/carts", {}, as_user=user)
        assert created.status == 201, created.body
        cart_id = str(created.json()["cartId"])
        added = stack.command(
            "POST", f"/carts/{cart_id}/items", {"productId": cup, "quantity": 1}, as_user=user
        )
        assert added.status == 200, added.body
        return cart_id

    bobs_cart, ordered = cart("bob"), cart("bob")
    order = stack.command("POST", f"/carts/{ordered}/checkout", as_user="bob").json()["orderId"]
    alices_cart = cart("alice")
    stack.pump()
    assert stack.query("GET", f"/orders/{order}", as_user="bob").json()["status"] == "CONFIRMED"
    return {"cup": cup, "bobs_cart": bobs_cart, "order": order, "alices_cart": alices_cart}


CATALOG_COMMANDS = [
    (
        "POST",
        "/products",
        {"sku": "NEW", "name": "N", "category": "c", "price": {"amount": 1, "currency": "EUR"}},
    ),
    ("PATCH", "/products/{cup}", {"name": "Renamed"}),
    ("PUT", "/products/{cup}/price", {"amount": 1, "currency": "EUR"}),
    ("POST", "/products/{cup}/discontinue", None),
    ("POST", "/products/{cup}/stock", {"quantity": 1_000}),
]


@pytest.mark.parametrize(("method", "path", "body"), CATALOG_COMMANDS)
def test_customers_may_not_change_the_catalog_or_its_stock(
    stack: Any, shop: dict[str, str], method: str, path: str, body: Any
) -> None:
    before = counts(stack)
    problem = assert_problem(
        stack.command(method, path.format(**shop), body, as_user="alice"), 403, "forbidden"
    )
    assert problem["detail"] == "Only administrators may change the catalog and its stock."
    assert counts(stack) == before
    assert stack.command(method, path.format(**shop), body).status == (
        201 if method == "POST" and body and "sku" in body else 200
    )


#: Catalog commands a customer sends with input the admin would get a 400, 404 or 422 for.
CATALOG_COMMANDS_WITH_BAD_INPUT = [
    ("POST", "/products", {}, None),
    ("PATCH", "/products/{cup}", {}, None),
    ("PUT", "/products/{cup}/price", {"amount": -1, "currency": "EUR"}, None),
    ("POST", "/products/{cup}/stock", {"quantity": 0}, None),
    ("PATCH", "/products/not-a-product", {"name": "Renamed"}, None),
    ("PUT", "/products/{cup}/price", {"amount": 1, "currency": "EUR"}, "version 3"),
]


@pytest.mark.parametrize(("method", "path", "body", "if_match"), CATALOG_COMMANDS_WITH_BAD_INPUT)
def test_customers_are_refused_catalog_commands_before_their_input_is_judged(
    stack: Any, shop: dict[str, str], method: str, path: str, body: Any, if_match: str | None
) -> None:
    """Spec section 4: catalog and stock commands need the admin group, otherwise 403. On ``make run``
    alice got 422 with the field rules for ``POST /products {}``, ``PATCH /products/{id} {}``, a
    negative price and a stock quantity of 0, 404 for a malformed product id and 400 for a
    malformed If-Match: validation ran before the caller was asked, so a customer learns the
    catalog's input rules and the answer to a command she may never run depends on her input."""
    headers = {"if-match": if_match} if if_match else None
    reply = stack.command(method, path.format(**shop), body, headers, as_user="alice")
    problem = assert_problem(reply, 403, "forbidden")
    assert problem["detail"] == "Only administrators may change the catalog and its stock."


def test_input_limits_hold_for_customers_too(stack: Any, shop: dict[str, str]) -> None:
    too_big = {"customerId": "x" * 70_000}
    assert_problem(stack.command("POST", "/carts", too_big, as_user="alice"), 413, "content-too-large")
    assert_problem(
        stack.command("POST", "/carts", {"customerId": "x" * 65}, as_user="alice"), 422, "validation-failed"
    )
    cart = shop["alices_cart"]
    add = {"productId": shop["cup"], "quantity": 100}
    assert_problem(
        stack.command("POST", f"/carts/{cart}/items", add, as_user="alice"), 422, "validation-failed"
    )
    page = stack.query("GET", f"/customers/{stack.sub('alice')}/orders?limit=101", as_user="alice")
    assert_problem(page, 400, "bad-request")


CART_ROUTES = [
    ("command", "POST", "/carts/{cart}/items", {"productId": "{cup}", "quantity": 1}),
    ("command", "PUT", "/carts/{cart}/items/{cup}", {"quantity": 3}),
    ("command", "DELETE", "/carts/{cart}/items/{cup}", None),
    ("command", "POST", "/carts/{cart}/checkout", None),
    ("query", "GET", "/carts/{cart}", None),
]


def send(stack: Any, api: str, method: str, path: str, body: Any, user: str | None, **ids: str) -> Any:
    filled = path.format(**ids)
    if isinstance(body, dict):
        body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    if api == "query":
        return stack.query(method, filled, as_user=user)
    return stack.command(method, filled, body, as_user=user)


@pytest.mark.parametrize(("api", "method", "path", "body"), CART_ROUTES)
def test_someone_elses_cart_does_not_exist_for_a_customer(
    stack: Any, shop: dict[str, str], api: str, method: str, path: str, body: Any
) -> None:
    before = counts(stack)
    theirs = send(stack, api, method, path, body, "alice", cart=shop["bobs_cart"], cup=shop["cup"])
    nobodys = send(stack, api, method, path, body, "alice", cart=UNKNOWN, cup=shop["cup"])
    problem = assert_problem(theirs, 404, "not-found")
    assert problem == {
        **assert_problem(nobodys, 404, "not-found"),
        "detail": f"Cart {shop['bobs_cart']} does not exist.",
    }
    assert counts(stack) == before


def test_a_precondition_does_not_reveal_someone_elses_cart(stack: Any, shop: dict[str, str]) -> None:
    for version in ('"1"', '"2"', '"99"'):
        sent = stack.command(
            "POST", f"/carts/{shop['bobs_cart']}/checkout", headers={"if-match": version}, as_user="alice"
        )
        assert_problem(sent, 404, "not-found")


@pytest.mark.parametrize(("api", "method", "path", "body"), CART_ROUTES)
def test_owners_and_admins_may_use_a_cart(
    stack: Any, shop: dict[str, str], api: str, method: str, path: str, body: Any
) -> None:
    for user, cart in [("bob", shop["bobs_cart"]), ("admin", shop["alices_cart"])]:
        sent = send(stack, api, method, path, body, user, cart=cart, cup=shop["cup"])
        assert sent.status in (200, 202), (user, sent.body)


def test_a_customers_cart_is_theirs_and_an_admin_may_open_one_for_anyone(stack: Any) -> None:
    alice, bob, admin = stack.sub("alice"), stack.sub("bob"), stack.sub("admin")
    own = stack.command("POST", "/carts", {}, as_user="alice")
    named_self = stack.command("POST", "/carts", {"customerId": alice}, as_user="alice")
    for_bob = stack.command("POST", "/carts", {"customerId": bob})
    admins_own = stack.command("POST", "/carts", {})
    stack.pump()
    owners = [
        stack.query("GET", f"/carts/{reply.json()['cartId']}").json()["customerId"]
        for reply in (own, named_self, for_bob, admins_own)
    ]
    assert owners == [alice, alice, bob, admin]
    assert stack.query("GET", f"/carts/{for_bob.json()['cartId']}", as_user="bob").status == 200

    before = counts(stack)
    refused = assert_problem(
        stack.command("POST", "/carts", {"customerId": bob}, as_user="alice"), 403, "forbidden"
    )
    assert refused["detail"] == "Customers may create carts only for themselves."
    assert counts(stack) == before


def test_someone_elses_order_does_not_exist_and_their_list_is_forbidden(
    stack: Any, shop: dict[str, str]
) -> None:
    order, bob = shop["order"], stack.sub("bob")
    before = counts(stack)
    for theirs, nobodys in [
        (
            stack.query("GET", f"/orders/{order}", as_user="alice"),
            stack.query("GET", f"/orders/{UNKNOWN}", as_user="alice"),
        ),
        (
            stack.command("POST", f"/orders/{order}/cancel", as_user="alice"),
            stack.command("POST", f"/orders/{UNKNOWN}/cancel", as_user="alice"),
        ),
    ]:
        problem = assert_problem(theirs, 404, "not-found")
        assert problem == {
            **assert_problem(nobodys, 404, "not-found"),
            "detail": f"Order {order} does not exist.",
        }
    listed = assert_problem(stack.query("GET", f"/customers/{bob}/orders", as_user="alice"), 403, "forbidden")
    assert listed["detail"] == "Customers may list orders only for themselves."
    assert counts(stack) == before

    assert [
        o["orderId"] for o in stack.query("GET", f"/customers/{bob}/orders", as_user="bob").json()["items"]
    ] == [order]
    assert [o["orderId"] for o in stack.query("GET", f"/customers/{bob}/orders").json()["items"]] == [order]
    assert stack.query("GET", f"/orders/{order}", as_user="bob").status == 200
    assert stack.query("GET", f"/orders/{order}").status == 200


def test_an_admin_may_act_for_a_customer_and_the_customer_sees_it(stack: Any, shop: dict[str, str]) -> None:
    bob = stack.sub("bob")
    cart = stack.command("POST", "/carts", {"customerId": bob}).json()["cartId"]
    assert (
        stack.command("POST", f"/carts/{cart}/items", {"productId": shop["cup"], "quantity": 2}).status == 200
    )
    order = stack.command("POST", f"/carts/{cart}/checkout").json()["orderId"]
    stack.pump()
    assert stack.query("GET", f"/orders/{order}", as_user="bob").json()["customerId"] == bob
    assert stack.command("POST", f"/orders/{order}/cancel").status == 200  # the admin cancels it
    stack.pump()
    assert stack.query("GET", f"/orders/{order}", as_user="bob").json()["status"] == "CANCELLED"
    assert (
        stack.command("POST", f"/orders/{shop['order']}/cancel", as_user="bob").status == 200
    )  # bob his own


@pytest.mark.parametrize(
    ("api", "method", "path"),
    [
        ("command", "POST", "/products"),
        ("command", "POST", "/carts"),
        ("command", "POST", "/carts/{bobs_cart}/checkout"),
        ("command", "POST", "/orders/{order}/cancel"),
        ("query", "GET", "/carts/{bobs_cart}"),
        ("query", "GET", "/orders/{order}"),
        ("query", "GET", "/customers/anyone/orders"),
    ],
)
def test_without_a_token_only_api_gateway_answers(
    stack: Any, shop: dict[str, str], api: str, method: str, path: str
) -> None:
    before = counts(stack)
    reply = send(stack, api, method, path, {}, None, **shop)
    assert (reply.status, reply.json(), reply.headers["www-authenticate"]) == (
        401,
        {"message": "Unauthorized"},
        "Bearer",
    )
    assert reply.headers["Content-Type"] == "application/json"
    assert counts(stack) == before


def test_browsing_needs_no_token(stack: Any, shop: dict[str, str]) -> None:
    assert stack.query("GET", "/products", as_user=None).status == 200
    assert stack.query("GET", f"/products/{shop['cup']}", as_user=None).json()["name"] == "Cup"
    assert_problem(stack.query("GET", "/nowhere", as_user=None), 404, "not-found")
    assert_problem(stack.command("GET", "/products", as_user=None), 405, "method-not-allowed")


def test_events_record_who_caused_them_and_never_the_token(stack: Any, shop: dict[str, str]) -> None:
    alice, bob, admin = stack.sub("alice"), stack.sub("bob"), stack.sub("admin")
    catalog = items(stack, "CatalogEventStore")
    by_stream: dict[str, list[str]] = {}
    for item in sorted(catalog, key=lambda i: int(i["version"]["N"])):
        by_stream.setdefault(item["streamId"]["S"], []).append(item["actor"]["S"])
    assert by_stream[f"product-{shop['cup']}"] == [admin]
    assert by_stream[f"stock-{shop['cup']}"] == [admin, bob]  # received by the admin, reserved for bob
    carts = {item["streamId"]["S"]: item["actor"]["S"] for item in items(stack, "CartEventStore")}
    assert carts[f"cart-{shop['alices_cart']}"] == alice
    assert carts[f"cart-{shop['bobs_cart']}"] == bob
    # Policies carry the actor of the event that triggered them: bob checked out, so bob placed the
    # order, and the reservation and the confirmation it led to are bob's too.
    [placed, confirmed] = sorted(items(stack, "OrderEventStore"), key=lambda i: int(i["version"]["N"]))
    assert (placed["actor"]["S"], confirmed["actor"]["S"]) == (bob, bob)
    assert by_stream[f"reservation-{shop['order']}"] == [bob]
    assert placed["causationId"]["S"] != confirmed["causationId"]["S"]
    stored = json.dumps([*catalog, *items(stack, "CartEventStore"), *items(stack, "OrderEventStore")])
    for user in ("alice", "bob", "admin"):
        assert stack.token(user).split(".")[1] not in stored


def test_a_commands_events_name_the_request_as_their_cause(stack: Any) -> None:
    request_ids = []
    original = stack.invoker.invoke

    def invoke(function: str, event: dict[str, Any]) -> Any:
        request_ids.append(event["requestContext"]["requestId"])
        return original(function, event)

    stack.invoker.invoke = invoke
    created = stack.command(
        "POST", "/carts", {}, as_user="alice", headers={"x-correlation-id": f"c-{uuid.uuid4()}"}
    )
    [item] = [
        i for i in items(stack, "CartEventStore") if i["streamId"]["S"] == f"cart-{created.json()['cartId']}"
    ]
    assert (item["causationId"]["S"], item["actor"]["S"]) == (request_ids[-1], stack.sub("alice"))

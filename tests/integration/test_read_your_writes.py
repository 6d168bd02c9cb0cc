"""Consistency tokens and conditional GETs through the handlers (in process, projection by hand:
``stack.pump()``, so "not caught up yet" is exact here; tests/e2e has the running stack)."""

from __future__ import annotations

from typing import Any

import pytest

TOKEN = "X-Consistency-Token"


def new_product(stack: Any, sku: str = "RYW-1") -> tuple[str, str]:
    body = {"sku": sku, "name": "Mug", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}}
    created = stack.command("POST", "/products", body)
    assert created.status == 201, created.body
    return str(created.json()["productId"]), created.headers[TOKEN]


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:shop:problem:{code}"


def test_every_command_response_carries_a_token_and_a_read_with_it_sees_the_write(stack: Any) -> None:
    product, created = new_product(stack)
    stack.pump()
    assert stack.query("GET", f"/products/{product}", {TOKEN: created}).status == 200

    stocked = stack.command("POST", f"/products/{product}/stock", {"quantity": 3})
    priced = stack.command("PUT", f"/products/{product}/price", {"amount": 700, "currency": "EUR"})
    assert stocked.headers[TOKEN] != priced.headers[TOKEN]
    stack.pump()
    for token in (stocked.headers[TOKEN], priced.headers[TOKEN]):  # the stock stream, the product's
        read = stack.query("GET", f"/products/{product}", {TOKEN: token})
        assert read.status == 200, read.body
        assert (read.json()["available"], read.json()["price"]["amount"]) == (3, 700)

    cart = stack.command("POST", "/carts", {"customerId": "alice"})
    cart_id = cart.json()["cartId"]
    added = stack.command("POST", f"/carts/{cart_id}/items", {"productId": product, "quantity": 2})
    checkout = stack.command("POST", f"/carts/{cart_id}/checkout")
    stack.pump()
    for response in (cart, added, checkout):
        read = stack.query("GET", f"/carts/{cart_id}", {TOKEN: response.headers[TOKEN]})
        assert read.status == 200, read.body
    assert read.json()["status"] == "CHECKED_OUT"

    order_id = checkout.json()["orderId"]
    cancelled = stack.command("POST", f"/orders/{order_id}/cancel")
    stack.pump()
    read = stack.query("GET", f"/orders/{order_id}", {TOKEN: cancelled.headers[TOKEN]})
    assert (read.status, read.json()["status"]) == (200, "CANCELLED")


def test_a_command_that_changes_nothing_still_names_the_version_it_found(stack: Any) -> None:
    product, _ = new_product(stack)
    first = stack.command("PATCH", f"/products/{product}", {"name": "Cup"})
    again = stack.command("PATCH", f"/products/{product}", {"name": "Cup"})
    assert again.json()["version"] == first.json()["version"] == 2
    assert again.headers[TOKEN] == first.headers[TOKEN]


def test_a_read_side_that_has_not_caught_up_is_a_503_with_retry_after(stack: Any) -> None:
    product, created = new_product(stack)  # not projected: the pump does not run
    response = stack.query("GET", f"/products/{product}", {TOKEN: created})
    assert_problem(response, 503, "not-caught-up")
    assert response.headers["Retry-After"] == "1"
    assert stack.query("GET", f"/products/{product}").status == 404  # without a token: as before
    stack.pump()
    assert stack.query("GET", f"/products/{product}", {TOKEN: created}).status == 200


def test_a_token_of_another_resource_or_a_tampered_one_is_a_400(stack: Any) -> None:
    product, created = new_product(stack)
    other, other_token = new_product(stack, "RYW-2")
    cart = stack.command("POST", "/carts", {"customerId": "alice"})
    stack.pump()
    payload, signature = created.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    cases = [
        ("/products/" + product, other_token),
        ("/products/" + product, cart.headers[TOKEN]),
        ("/carts/" + cart.json()["cartId"], created),
        ("/orders/" + cart.json()["cartId"], cart.headers[TOKEN]),  # a cart's token, an order's path
        ("/products/" + product, f"{flipped}.{signature}"),
        ("/products/" + product, "garbage"),
        ("/products/" + product, ""),
    ]
    for path, token in cases:
        assert_problem(stack.query("GET", path, {TOKEN: token}), 400, "bad-consistency-token")
    assert stack.query("GET", f"/products/{other}", {TOKEN: other_token}).status == 200


def test_another_customer_with_a_genuine_token_gets_the_404_at_once(stack: Any) -> None:
    cart = stack.command("POST", "/carts", {}, as_user="alice")
    stack.pump()
    seen = stack.query("GET", f"/carts/{cart.json()['cartId']}", {TOKEN: cart.headers[TOKEN]}, as_user="bob")
    assert_problem(seen, 404, "not-found")


@pytest.fixture
def resources(stack: Any) -> dict[str, str]:
    product, _ = new_product(stack)
    stack.command("POST", f"/products/{product}/stock", {"quantity": 5})
    stack.pump()
    cart_id = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    stack.command("POST", f"/carts/{cart_id}/items", {"productId": product, "quantity": 1})
    order_id = stack.command("POST", f"/carts/{cart_id}/checkout").json()["orderId"]
    stack.pump()
    return {"product": f"/products/{product}", "cart": f"/carts/{cart_id}", "order": f"/orders/{order_id}"}


@pytest.mark.parametrize(
    ("kind", "cache_control"),
    [("product", "no-cache"), ("cart", "private, no-cache"), ("order", "private, no-cache")],
)
def test_if_none_match_with_the_current_etag_is_a_304_without_a_body(
    stack: Any, resources: dict[str, str], kind: str, cache_control: str
) -> None:
    path = resources[kind]
    first = stack.query("GET", path)
    assert first.status == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == cache_control

    for condition in (etag, f"W/{etag}", "*", f'"0.0", {etag}', f'"99", W/{etag}, "100"'):
        unchanged = stack.query("GET", path, {"If-None-Match": condition})
        assert unchanged.status == 304, (condition, unchanged.body)
        assert unchanged.body == b""
        assert (unchanged.headers["ETag"], unchanged.headers["Cache-Control"]) == (etag, cache_control)
        assert "Content-Type" not in unchanged.headers
    for condition in ('"0.0"', '"99", "100"', "not an etag"):
        changed = stack.query("GET", path, {"If-None-Match": condition})
        assert (changed.status, changed.json()) == (200, first.json())


def test_the_etag_changes_exactly_when_the_representation_does(stack: Any, resources: dict[str, str]) -> None:
    product_path = resources["product"]
    before = stack.query("GET", product_path)
    product = product_path.rsplit("/", 1)[1]
    stack.command("POST", f"/products/{product}/stock", {"quantity": 2})  # stock only: the ETag moves
    stack.pump()
    after_stock = stack.query("GET", product_path, {"If-None-Match": before.headers["ETag"]})
    assert after_stock.status == 200
    assert after_stock.json()["available"] == before.json()["available"] + 2
    stack.command("PATCH", f"/products/{product}", {"name": before.json()["name"]})  # no change, no event
    stack.pump()
    assert stack.query("GET", product_path, {"If-None-Match": after_stock.headers["ETag"]}).status == 304

    order_path = resources["order"]
    order = stack.query("GET", order_path)
    stack.command("POST", f"/orders/{order_path.rsplit('/', 1)[1]}/cancel")
    stack.pump()
    cancelled = stack.query("GET", order_path, {"If-None-Match": order.headers["ETag"]})
    assert (cancelled.status, cancelled.json()["status"]) == (200, "CANCELLED")


def test_with_a_token_if_none_match_compares_with_the_state_that_reflects_the_write(
    stack: Any, resources: dict[str, str]
) -> None:
    product = resources["product"]
    before = stack.query("GET", product)
    renamed = stack.command("PATCH", f"/products/{product.rsplit('/', 1)[1]}", {"name": "Renamed"})
    # Not projected yet: the write is not visible, so the old ETag would still match...
    assert stack.query("GET", product, {"If-None-Match": before.headers["ETag"]}).status == 304
    stack.pump()
    # ...with the token, the answer is the state after the write: changed, then unchanged.
    headers = {TOKEN: renamed.headers[TOKEN], "If-None-Match": before.headers["ETag"]}
    after = stack.query("GET", product, headers)
    assert (after.status, after.json()["name"]) == (200, "Renamed")
    headers["If-None-Match"] = after.headers["ETag"]
    assert stack.query("GET", product, headers).status == 304


def test_listings_may_be_cached_briefly(stack: Any, resources: dict[str, str]) -> None:
    assert stack.query("GET", "/products").headers["Cache-Control"] == "public, max-age=5"
    assert stack.query("GET", "/customers/alice/orders").headers["Cache-Control"] == "private, max-age=5"


def test_problems_are_never_cached(stack: Any, resources: dict[str, str]) -> None:
    """A CDN keeps a 404 for a while by default (CloudFront: 10 s): a product created just after a
    miss would stay hidden. Every problem answer says ``no-store``, on both APIs."""
    missing = stack.query("GET", "/products/00000000-0000-4000-8000-000000000000")
    assert_problem(missing, 404, "not-found")
    bad = stack.query("GET", "/products?limit=0")
    refused = stack.command("POST", "/products", {"sku": ""})
    screened = stack.command("POST", "/products", {"sku": "X"}, {"Idempotency-Key": " spaced "})  # the edge's
    assert_problem(screened, 400, "bad-idempotency-key")
    for answer in (missing, bad, refused, screened):
        assert answer.status >= 400
        assert answer.headers["Cache-Control"] == "no-store", answer.status

"""Read-your-writes, conditional GETs and the input fixes of issue 10 over real HTTP on the local stack.

Most tests use the shared stack. Two need a read side that is slow on purpose: a second stack runs
a copy of template.yaml whose projectors gather records before they run (their mappings'
``MaximumBatchingWindowInSeconds``, which the local stack honours as Lambda does): the catalog's
for ``SLOW_CATALOG`` seconds, less than a GET waits, the carts' for ``STALLED_CARTS``, more.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import ROOT
from local.stack.client import call, eventually
from local.stack.process import StackProcess, start
from shop.http.cursor import CursorCodec
from tests.e2e.conftest import warm_up

TOKEN = "X-Consistency-Token"
SLOW_CATALOG = 1
STALLED_CARTS = 8


def new_product(stack: StackProcess, units: int = 0, name: str = "Jug") -> tuple[str, Any]:
    body = {
        "sku": f"E2E-{uuid.uuid4().hex[:10]}",
        "name": name,
        "category": f"e2e-{uuid.uuid4().hex[:8]}",
        "price": {"amount": 900, "currency": "EUR"},
    }
    created = call("POST", f"{stack.command}/products", body, token=stack.tokens["admin"])
    assert created.status == 201, created.body
    product = created.json()["productId"]
    if units:
        stocked = call(
            "POST",
            f"{stack.command}/products/{product}/stock",
            {"quantity": units},
            token=stack.tokens["admin"],
        )
        assert stocked.status == 200, stocked.body
        return product, stocked
    return product, created


def get(stack: StackProcess, path: str, user: str | None = None, **headers: str) -> Any:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    return call("GET", f"{stack.query}{path}", headers=sent, token=stack.tokens[user] if user else None)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"urn:shop:problem:{code}", problem
    return problem


# ---------------------------------------------------------------- read-your-writes, shared stack
def test_a_read_with_the_token_of_a_write_sees_that_write(local_stack: StackProcess) -> None:
    product, created = new_product(local_stack)
    first = get(local_stack, f"/products/{product}", X_Consistency_Token=created.headers[TOKEN])
    assert (first.status, first.json()["version"]) == (200, 1), first.body  # no polling needed

    priced = call(
        "PUT",
        f"{local_stack.command}/products/{product}/price",
        {"amount": 1200, "currency": "EUR"},
        token=local_stack.tokens["admin"],
    )
    read = get(local_stack, f"/products/{product}", X_Consistency_Token=priced.headers[TOKEN])
    assert (read.status, read.json()["price"]["amount"], read.json()["version"]) == (200, 1200, 2)

    alice = local_stack.tokens["alice"]
    cart = call("POST", f"{local_stack.command}/carts", {}, token=alice)
    cart_id = cart.json()["cartId"]
    assert (
        get(local_stack, f"/carts/{cart_id}", "alice", X_Consistency_Token=cart.headers[TOKEN]).status == 200
    )
    added = call(
        "POST",
        f"{local_stack.command}/carts/{cart_id}/items",
        {"productId": product, "quantity": 2},
        token=alice,
    )
    assert added.status == 200, added.body
    seen = get(local_stack, f"/carts/{cart_id}", "alice", X_Consistency_Token=added.headers[TOKEN])
    assert [line["quantity"] for line in seen.json()["items"]] == [2]


def test_tampered_tokens_and_tokens_of_other_resources_are_400(local_stack: StackProcess) -> None:
    product, created = new_product(local_stack)
    other, other_created = new_product(local_stack)
    payload, signature = created.headers[TOKEN].split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    cart = call("POST", f"{local_stack.command}/carts", {}, token=local_stack.tokens["alice"])
    cases = [
        (f"/products/{product}", None, other_created.headers[TOKEN]),
        (f"/products/{product}", None, tampered),
        (f"/products/{product}", None, "not-a-token"),
        (f"/carts/{cart.json()['cartId']}", "alice", created.headers[TOKEN]),
        (f"/orders/{cart.json()['cartId']}", "alice", cart.headers[TOKEN]),
    ]
    for path, user, token in cases:
        assert_problem(get(local_stack, path, user, X_Consistency_Token=token), 400, "bad-consistency-token")
    assert (
        get(local_stack, f"/products/{other}", X_Consistency_Token=other_created.headers[TOKEN]).status == 200
    )


# ---------------------------------------------------------------- conditional GETs
def test_304_for_products_carts_and_orders_with_star_and_lists(local_stack: StackProcess) -> None:
    ordered, ordered_stock = new_product(local_stack, units=3)
    product, stocked = new_product(local_stack, units=3)  # not ordered: nothing moves its ETag meanwhile
    alice = local_stack.tokens["alice"]
    cart = call("POST", f"{local_stack.command}/carts", {}, token=alice).json()["cartId"]
    # The cart takes the price from the read side: wait until it shows the product's stock.
    assert (
        get(local_stack, f"/products/{ordered}", X_Consistency_Token=ordered_stock.headers[TOKEN]).status
        == 200
    )
    call(
        "POST",
        f"{local_stack.command}/carts/{cart}/items",
        {"productId": ordered, "quantity": 1},
        token=alice,
    )
    checkout = call("POST", f"{local_stack.command}/carts/{cart}/checkout", token=alice)
    order = checkout.json()["orderId"]
    # The order is placed by a policy: poll its Location until it settles (docs/read-your-writes.md).
    eventually(lambda: get(local_stack, f"/orders/{order}", "alice").json().get("status") == "CONFIRMED")
    cases = [
        (f"/products/{product}", None, "no-cache", stocked.headers[TOKEN]),
        (f"/carts/{cart}", "alice", "private, no-cache", checkout.headers[TOKEN]),
        (f"/orders/{order}", "alice", "private, no-cache", None),
    ]
    for path, user, cache_control, token in cases:
        current = get(local_stack, path, user, **({"X_Consistency_Token": token} if token else {}))
        assert current.status == 200, (path, current.body)
        etag = current.headers["ETag"]
        assert current.headers["Cache-Control"] == cache_control
        for condition in (etag, f"W/{etag}", "*", f'"0.0", {etag}', f'W/"99", {etag} , "100"'):
            unchanged = get(local_stack, path, user, If_None_Match=condition)
            assert unchanged.status == 304, (path, condition, unchanged.body)
            assert unchanged.body == b""
            assert (unchanged.headers["ETag"], unchanged.headers["Cache-Control"]) == (etag, cache_control)
            assert "Content-Length" not in unchanged.headers
        for condition in ('"0.0"', '"0.0", W/"99"'):
            assert get(local_stack, path, user, If_None_Match=condition).status == 200

    # A product's ETag moves with either of its versions: its stock's too.
    before = get(local_stack, f"/products/{product}").headers["ETag"]
    admin = local_stack.tokens["admin"]
    more = call("POST", f"{local_stack.command}/products/{product}/stock", {"quantity": 1}, token=admin)
    after = get(
        local_stack, f"/products/{product}", If_None_Match=before, X_Consistency_Token=more.headers[TOKEN]
    )
    assert after.status == 200
    assert after.headers["ETag"] != before


def test_listings_carry_a_short_cache_lifetime(local_stack: StackProcess) -> None:
    assert get(local_stack, "/products").headers["Cache-Control"] == "public, max-age=5"
    orders = get(local_stack, f"/customers/{_sub(local_stack, 'alice')}/orders", "alice")
    assert (orders.status, orders.headers["Cache-Control"]) == (200, "private, max-age=5")


def _sub(stack: StackProcess, user: str) -> str:
    payload = stack.tokens[user].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


# ---------------------------------------------------------------- issue 10 item 7
MEDIA_TYPES = ["APPLICATION/JSON", "Application/Json; charset=utf-8", "application/merge-patch+json"]


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_json_in_any_spelling_is_accepted_on_all_seven_body_routes(
    local_stack: StackProcess, media_type: str
) -> None:
    admin = local_stack.tokens["admin"]
    headers = {"Content-Type": media_type}

    def send(method: str, path: str, body: Any) -> Any:
        return call(method, f"{local_stack.command}{path}", body, headers=headers, token=admin)

    created = send(
        "POST",
        "/products",
        {
            "sku": f"E2E-{uuid.uuid4().hex[:10]}",
            "name": "Pan",
            "category": "e2e",
            "price": {"amount": 5, "currency": "EUR"},
        },
    )
    assert created.status == 201, created.body
    product = created.json()["productId"]
    answers = [
        send("PATCH", f"/products/{product}", {"name": "Pot"}),
        send("PUT", f"/products/{product}/price", {"amount": 6, "currency": "EUR"}),
        send("POST", f"/products/{product}/stock", {"quantity": 2}),
    ]
    eventually(
        lambda: (
            get(local_stack, f"/products/{product}", X_Consistency_Token=answers[-1].headers[TOKEN]).status
            == 200
        )
    )
    cart = send("POST", "/carts", {"customerId": "e2e-media"})
    assert cart.status == 201, cart.body
    cart_id = cart.json()["cartId"]
    answers += [
        send("POST", f"/carts/{cart_id}/items", {"productId": product, "quantity": 1}),
        send("PUT", f"/carts/{cart_id}/items/{product}", {"quantity": 2}),
    ]
    assert [a.status for a in answers] == [200] * 5, [a.body for a in answers]


def test_a_genuinely_signed_cursor_with_a_malformed_position_is_a_400(local_stack: StackProcess) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=local_stack.endpoint, region_name="us-east-1")
    secret = secrets.get_secret_value(SecretId="SigningSecret")["SecretString"]
    codec = CursorCodec(secret)
    for position in ({"productId": 5, "activeListing": "ACTIVE", "nameKey": "a"}, {"productId": "x"}, {}):
        cursor = codec.encode(position, {"category": None})
        assert_problem(get(local_stack, f"/products?cursor={cursor}"), 400, "bad-request")
    genuine = codec.encode({"productId": "p", "activeListing": "ACTIVE", "nameKey": "a"}, {"category": None})
    assert get(local_stack, f"/products?cursor={genuine}").status == 200


@pytest.mark.parametrize("value", ["\u202egnp.exe", "\u200b", "a\x00b", "esc\x1b[31m", "bell\x07", " "])
def test_unsafe_or_blank_text_is_a_422_naming_the_field(local_stack: StackProcess, value: str) -> None:
    admin = local_stack.tokens["admin"]
    body = {
        "sku": f"E2E-{uuid.uuid4().hex[:10]}",
        "name": value,
        "category": "e2e",
        "price": {"amount": 5, "currency": "EUR"},
    }
    refused = call("POST", f"{local_stack.command}/products", body, token=admin)
    assert [e["field"] for e in assert_problem(refused, 422, "validation-failed")["errors"]] == ["name"]
    cart = call("POST", f"{local_stack.command}/carts", {"customerId": value}, token=admin)
    assert [e["field"] for e in assert_problem(cart, 422, "validation-failed")["errors"]] == ["customerId"]


# ---------------------------------------------------------------- a slow read side
def slow_template(directory: Path) -> Path:
    """template.yaml with batching windows on two projectors, its code paths made absolute."""
    text = (ROOT / "template.yaml").read_text()
    text = re.sub(r"(CodeUri|ContentUri): (\S+)", lambda m: f"{m.group(1)}: {ROOT / m.group(2)}", text)
    for function, seconds in (("CatalogProjector", SLOW_CATALOG), ("CartProjector", STALLED_CARTS)):
        start_at = text.index(f"\n  {function}:\n")
        setting = "MaximumBatchingWindowInSeconds: 0"
        window = text.index(setting, start_at)
        text = text[:window] + f"MaximumBatchingWindowInSeconds: {seconds}" + text[window + len(setting) :]
    path = directory / "template.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = start(slow_template(tmp_path_factory.mktemp("slow")))
    try:
        warm_up(running)
        warm, _ = new_product(running)  # the catalog projector's worker, warm before it is timed
        eventually(lambda: get(running, f"/products/{warm}").status == 200, timeout=120)
        yield running
    finally:
        assert running.stop() == 0, "".join(running.output[-30:])


def test_a_token_waits_for_a_slow_projector_and_answers_the_new_state(slow_stack: StackProcess) -> None:
    """The catalog projector runs SLOW_CATALOG s after each write at the earliest: only the wait
    makes the write visible to the read that follows it at once."""
    product, created = new_product(slow_stack)
    read = get(slow_stack, f"/products/{product}", X_Consistency_Token=created.headers[TOKEN])
    assert (read.status, read.json()["productId"], read.json()["version"]) == (200, product, 1), read.body

    renamed = call(
        "PATCH",
        f"{slow_stack.command}/products/{product}",
        {"name": "Big jug"},
        token=slow_stack.tokens["admin"],
    )
    read = get(slow_stack, f"/products/{product}", X_Consistency_Token=renamed.headers[TOKEN])
    assert (read.status, read.json()["name"], read.json()["version"]) == (200, "Big jug", 2), read.body


def test_a_read_side_that_cannot_catch_up_in_time_is_a_503_with_retry_after(slow_stack: StackProcess) -> None:
    cart = call("POST", f"{slow_stack.command}/carts", {}, token=slow_stack.tokens["alice"])
    assert cart.status == 201, cart.body
    path = f"/carts/{cart.json()['cartId']}"

    stalled = get(slow_stack, path, "alice", X_Consistency_Token=cart.headers[TOKEN])

    assert_problem(stalled, 503, "not-caught-up")
    assert stalled.headers["Retry-After"] == "1"
    later = eventually(
        lambda: (
            (r := get(slow_stack, path, "alice", X_Consistency_Token=cart.headers[TOKEN])).status == 200 and r
        ),
        timeout=STALLED_CARTS * 4,
        interval=1,
    )
    assert later.json()["cartId"] == cart.json()["cartId"]

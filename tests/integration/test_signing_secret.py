"""The signing key comes from Secrets Manager (issues 9 and 10): each function that signs or checks
cursors or consistency tokens fetches it by ARN at its first use, once per execution environment,
and never holds it in its environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.aws import calls
from shop import runtime
from shop.http.consistency import TokenCodec, Written
from shop.http.cursor import CursorCodec

TOKEN = "X-Consistency-Token"


def create(stack: Any, sku: str) -> str:
    body = {"sku": sku, "name": sku, "category": "secrets", "price": {"amount": 100, "currency": "EUR"}}
    response = stack.command("POST", "/products", body)
    assert response.status == 201
    return str(response.json()["productId"])


def fetches(recorded: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.function, dict(c.params)) for c in recorded.calls() if c.operation == "GetSecretValue"]


@pytest.fixture
def world(stack: Any) -> dict[str, str]:
    products = [create(stack, sku) for sku in ("SECRET-1", "SECRET-2", "SECRET-3")]
    stack.command("POST", f"/products/{products[0]}/stock", {"quantity": 5})
    stack.pump()
    cart = stack.command("POST", "/carts", {"customerId": "alice"})
    stack.command("POST", f"/carts/{cart.json()['cartId']}/items", {"productId": products[0], "quantity": 1})
    checkout = stack.command("POST", f"/carts/{cart.json()['cartId']}/checkout")
    assert checkout.status == 202, checkout.body
    stack.pump()
    return {
        "product": products[0],
        "cart": cart.json()["cartId"],
        "cart token": checkout.headers[TOKEN],
        "order": checkout.json()["orderId"],
    }


#: function -> one request it serves that needs the key (a signed answer, or a token to check)
USES: dict[str, Callable[[Any, dict[str, str]], int]] = {
    "CatalogCommands": lambda s, w: (
        s.command("POST", f"/products/{w['product']}/stock", {"quantity": 1}).status
    ),
    "CartCommands": lambda s, w: s.command("POST", "/carts", {"customerId": "bob"}).status,
    "OrderCommands": lambda s, w: s.command("POST", f"/orders/{w['order']}/cancel").status,
    "CatalogQueries": lambda s, w: s.query("GET", "/products?limit=1").status,
    "CartQueries": lambda s, w: s.query("GET", f"/carts/{w['cart']}", {TOKEN: w["cart token"]}).status,
    "OrderQueries": lambda s, w: s.query("GET", "/customers/alice/orders").status,
}


@pytest.mark.parametrize("function", sorted(USES))
def test_each_function_fetches_the_key_once_at_its_first_use(
    stack: Any, world: dict[str, str], function: str
) -> None:
    runtime.reset()  # a new execution environment
    with calls.collecting() as recorded:
        statuses = [USES[function](stack, world), USES[function](stack, world)]
    assert statuses[0] in (200, 201), statuses  # (an order is cancelled once: then 409, unsigned)
    assert fetches(recorded) == [(function, {"SecretId": stack.physical["SigningSecret"]})]


def test_a_read_without_a_token_or_cursor_fetches_nothing(stack: Any, world: dict[str, str]) -> None:
    runtime.reset()
    with calls.collecting() as recorded:
        assert stack.query("GET", f"/products/{world['product']}").status == 200
        assert stack.query("GET", f"/carts/{world['cart']}").status == 200
        assert stack.query("GET", f"/orders/{world['order']}").status == 200
    assert fetches(recorded) == []


def test_cursors_and_tokens_are_signed_with_the_secret_s_value(stack: Any) -> None:
    first = create(stack, "SIGNED-1")
    create(stack, "SIGNED-2")
    stack.pump()
    value = stack.clients.secretsmanager.get_secret_value(SecretId=stack.physical["SigningSecret"])
    query = {"category": "secrets"}

    page = stack.query("GET", "/products?category=secrets&limit=1").json()
    position = CursorCodec(value["SecretString"]).decode(page["nextCursor"], query)
    forged = CursorCodec("another key of at least 16 chars").encode(position, query)
    assert stack.query("GET", f"/products?category=secrets&limit=1&cursor={forged}").status == 400

    renamed = stack.command("PATCH", f"/products/{first}", {"name": "signed"})
    written = TokenCodec(value["SecretString"]).read(renamed.headers[TOKEN])
    assert written == Written(f"product-{first}", 2)
    forged = TokenCodec("another key of at least 16 chars").issue(written)
    assert stack.query("GET", f"/products/{first}", {TOKEN: forged}).status == 400


def test_no_function_gets_the_secret_s_value_in_its_environment(stack: Any) -> None:
    value = stack.clients.secretsmanager.get_secret_value(SecretId=stack.physical["SigningSecret"])

    for function in stack.template.functions:
        assert value["SecretString"] not in stack.environment(function).values(), function
    assert stack.environment("CatalogQueries")["SIGNING_SECRET_ID"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:SigningSecret-"
    )

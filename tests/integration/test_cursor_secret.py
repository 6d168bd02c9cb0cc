"""The cursor signing key comes from Secrets Manager (issue 9): the query functions fetch it by ARN
at their first listing, once per execution environment, and never hold it in their environment."""

from __future__ import annotations

from typing import Any

from local.aws import calls
from shop.http.cursor import CursorCodec


def create(stack: Any, sku: str) -> None:
    body = {"sku": sku, "name": sku, "category": "secrets", "price": {"amount": 100, "currency": "EUR"}}
    assert stack.command("POST", "/products", body).status == 201


def fetches(recorded: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.function, dict(c.params)) for c in recorded.calls() if c.operation == "GetSecretValue"]


def test_each_query_function_fetches_the_key_once_at_its_first_listing(stack: Any) -> None:
    for sku in ("SECRET-1", "SECRET-2", "SECRET-3"):
        create(stack, sku)
    stack.pump()
    secret = stack.physical["CursorSecret"]

    with calls.collecting() as recorded:
        product = stack.query("GET", "/products?limit=1").json()["items"][0]["productId"]
        assert stack.query("GET", f"/products/{product}").status == 200
    assert fetches(recorded) == [("CatalogQueries", {"SecretId": secret})]

    with calls.collecting() as recorded:
        first = stack.query("GET", "/products?category=secrets&limit=1").json()
        second = stack.query("GET", f"/products?category=secrets&limit=1&cursor={first['nextCursor']}")
        assert second.status == 200, second.body
        assert stack.query("GET", "/customers/alice/orders").status == 200
        assert stack.query("GET", "/customers/bob/orders").status == 200
    assert fetches(recorded) == [("OrderQueries", {"SecretId": secret})]  # CatalogQueries: cached


def test_cursors_are_signed_with_the_secret_s_value(stack: Any) -> None:
    for sku in ("SIGNED-1", "SIGNED-2"):
        create(stack, sku)
    stack.pump()
    value = stack.clients.secretsmanager.get_secret_value(SecretId=stack.physical["CursorSecret"])
    query = {"category": "secrets"}

    page = stack.query("GET", "/products?category=secrets&limit=1").json()
    position = CursorCodec(value["SecretString"]).decode(page["nextCursor"], query)
    forged = CursorCodec("another key of at least 16 chars").encode(position, query)

    assert stack.query("GET", f"/products?category=secrets&limit=1&cursor={forged}").status == 400


def test_no_function_gets_the_secret_s_value_in_its_environment(stack: Any) -> None:
    value = stack.clients.secretsmanager.get_secret_value(SecretId=stack.physical["CursorSecret"])

    for function in stack.template.functions:
        assert value["SecretString"] not in stack.environment(function).values(), function
    assert stack.environment("CatalogQueries")["CURSOR_SECRET_ID"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:CursorSecret-"
    )

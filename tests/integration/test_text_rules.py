"""Names, descriptions and customer ids refuse control characters, bidi overrides and values with
nothing visible (issue 10, found by a fuzzer): a 422 naming the field, and no event appended."""

from __future__ import annotations

from typing import Any

import pytest

from shop.catalog.domain import Product

PRODUCT = {"sku": "TEXT-1", "name": "Mug", "category": "kitchen", "price": {"amount": 1, "currency": "EUR"}}
REFUSED = [
    "a\x00b",
    "a\x1bb",
    "bell\x07",
    "\u202egnp.exe",
    "\u2066x\u2069",
    "del\x7f",
    "c1\x85",
    "\u200b",
    " ",
]


def events_stored(stack: Any) -> int:
    count = 0
    for table in ("CatalogEventStore", "CartEventStore"):
        count += stack.clients.dynamodb.scan(TableName=stack.physical[table], Select="COUNT")["Count"]
    return int(count)


def assert_refused(response: Any, field: str) -> None:
    assert response.status == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:shop:problem:validation-failed"
    assert [error["field"] for error in problem["errors"]] == [field], problem


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_names_descriptions_and_customer_ids_refuse_unsafe_or_blank_text(stack: Any, value: str) -> None:
    assert stack.command("POST", "/products", PRODUCT).status == 201
    product = Product.id_for_sku("TEXT-1")
    before = events_stored(stack)

    assert_refused(stack.command("POST", "/products", PRODUCT | {"sku": "TEXT-2", "name": value}), "name")
    assert_refused(stack.command("PATCH", f"/products/{product}", {"name": value}), "name")
    assert_refused(stack.command("POST", "/carts", {"customerId": value}), "customerId")
    if value != "\u200b" and value != " ":  # a description may not be blank either, but may be empty
        assert_refused(
            stack.command("POST", "/products", PRODUCT | {"sku": "TEXT-3", "description": value}),
            "description",
        )
    assert_refused(stack.command("PATCH", f"/products/{product}", {"description": value}), "description")

    assert events_stored(stack) == before


def test_text_of_any_script_with_line_breaks_in_descriptions_is_stored_as_sent(stack: Any) -> None:
    name = "👨\u200d👩\u200d👧 Crème brûlée \u200f\u05e9\u05dc\u05d5\u05dd"
    description = "Two lines:\n\tporcelain,\r\n80 ml."
    created = stack.command("POST", "/products", PRODUCT | {"name": f"  {name} ", "description": description})
    assert created.status == 201, created.body
    cart = stack.command("POST", "/carts", {"customerId": "alice smith"})
    assert cart.status == 201, cart.body
    stack.pump()

    product = stack.query("GET", f"/products/{created.json()['productId']}").json()
    assert (product["name"], product["description"]) == (name, description)  # names are trimmed
    cleared = stack.command("PATCH", f"/products/{created.json()['productId']}", {"description": ""})
    assert cleared.status == 200, cleared.body


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"], ids=["LINE SEPARATOR", "PARAGRAPH SEPARATOR"])
def test_a_name_or_customer_id_is_one_line_a_description_may_hold_paragraphs(
    stack: Any, separator: str
) -> None:
    """U+2028 and U+2029 break lines as LF does (in browsers, logs, JavaScript before ES2019), but are
    not control characters: a name or a customer id holding one is two lines, and is refused."""
    assert stack.command("POST", "/products", PRODUCT).status == 201
    product = Product.id_for_sku("TEXT-1")
    two_lines = f"Mug{separator}Sale: 90% off"
    before = events_stored(stack)

    assert_refused(stack.command("POST", "/products", PRODUCT | {"sku": "TEXT-2", "name": two_lines}), "name")
    assert_refused(stack.command("PATCH", f"/products/{product}", {"name": two_lines}), "name")
    assert_refused(stack.command("POST", "/carts", {"customerId": f"alice{separator}bob"}), "customerId")
    assert events_stored(stack) == before

    described = stack.command("PATCH", f"/products/{product}", {"description": two_lines})
    assert described.status == 200, described.body


@pytest.mark.parametrize("customer", ["%20", "%E2%80%AE", "alice%00", "%20alice"])
def test_a_customer_id_no_cart_could_have_has_no_orders_to_list(stack: Any, customer: str) -> None:
    response = stack.query("GET", f"/customers/{customer}/orders")
    assert response.status == 404, response.body
    assert response.json()["type"] == "urn:shop:problem:not-found"

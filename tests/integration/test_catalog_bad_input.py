"""Bad input to every Catalog route: the 4xx of spec section 4, a problem body, and no event appended."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.catalog.domain import Product

UNKNOWN = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"
GOOD_PRODUCT = {
    "sku": "MUG-1",
    "name": "Mug",
    "category": "kitchen",
    "price": {"amount": 1, "currency": "EUR"},
}


def events_stored(stack: Any) -> int:
    return int(
        stack.clients.dynamodb.scan(TableName=stack.physical["CatalogEventStore"], Select="COUNT")["Count"]
    )


@pytest.fixture
def product(stack: Any) -> str:
    assert stack.command("POST", "/products", GOOD_PRODUCT).status == 201
    return Product.id_for_sku("MUG-1")


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem answer with this status and ``type`` ``urn:shop:problem:<code>``."""
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    assert problem["type"] == f"urn:shop:problem:{code}", problem
    assert "Traceback" not in response.body.decode()
    return dict(problem)


#: Valid JSON that Python's parser refuses: an integer of more than 4300 digits raises ValueError,
#: nesting deeper than the recursion limit RecursionError (both were a 500 on every body route).
HUGE_INTEGER = "9" * 5000
DEEP_NESTING = ("[" * 20_000 + "]" * 20_000).encode()

BAD_COMMANDS: list[tuple[str, str, Any, int, str]] = [
    # method, path ({p} = the existing product), body, expected status and problem type
    ("POST", "/products", b"{not json", 400, "malformed-json"),
    ("POST", "/products", b"", 400, "malformed-json"),
    ("POST", "/products", b"null", 400, "malformed-json"),
    ("POST", "/products", f'{{"sku": "MUG-2", "price": {HUGE_INTEGER}}}'.encode(), 400, "malformed-json"),
    ("POST", "/products", DEEP_NESTING, 400, "malformed-json"),
    ("POST", "/products", [1, 2], 422, "validation-failed"),
    ("POST", "/products", "a string", 422, "validation-failed"),
    ("POST", "/products", {}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT | {"sku": "bad sku"}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT | {"name": ""}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT | {"description": "x" * 2001}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT | {"category": "Not-Lower"}, 422, "validation-failed"),
    (
        "POST",
        "/products",
        GOOD_PRODUCT | {"price": {"amount": -5, "currency": "EUR"}},
        422,
        "validation-failed",
    ),
    (
        "POST",
        "/products",
        GOOD_PRODUCT | {"price": {"amount": 5, "currency": "USD"}},
        422,
        "validation-failed",
    ),
    ("POST", "/products", GOOD_PRODUCT | {"price": 5}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT | {"unexpected": True}, 422, "validation-failed"),
    ("POST", "/products", GOOD_PRODUCT, 409, "duplicate-sku"),  # duplicate SKU
    ("POST", "/products", GOOD_PRODUCT | {"sku": "mug-1"}, 409, "duplicate-sku"),  # duplicate, other case
    ("PATCH", "/products/{p}", {}, 422, "validation-failed"),
    ("PATCH", "/products/{p}", {"name": None}, 422, "validation-failed"),
    ("PATCH", "/products/{p}", {"category": 7}, 422, "validation-failed"),
    ("PATCH", "/products/{p}", {"sku": "NEW"}, 422, "validation-failed"),
    ("PATCH", "/products/{p}", b"[", 400, "malformed-json"),
    ("PATCH", "/products/{p}", b'{"name": ' + DEEP_NESTING + b"}", 400, "malformed-json"),
    ("PATCH", f"/products/{UNKNOWN}", {"name": "x"}, 404, "not-found"),
    ("PATCH", "/products/not-a-uuid", {"name": "x"}, 404, "not-found"),
    ("PUT", "/products/{p}/price", {"amount": "1", "currency": "EUR"}, 422, "validation-failed"),
    ("PUT", "/products/{p}/price", {"amount": 1_000_000_001, "currency": "EUR"}, 422, "validation-failed"),
    ("PUT", "/products/{p}/price", {"amount": 1, "currency": "GBP"}, 422, "validation-failed"),
    ("PUT", "/products/{p}/price", {"amount": 1}, 422, "validation-failed"),
    ("PUT", "/products/{p}/price", f'{{"amount": {HUGE_INTEGER}}}'.encode(), 400, "malformed-json"),
    ("PUT", f"/products/{UNKNOWN}/price", {"amount": 1, "currency": "EUR"}, 404, "not-found"),
    ("POST", f"/products/{UNKNOWN}/discontinue", None, 404, "not-found"),
    ("POST", "/products/123/discontinue", None, 404, "not-found"),
    ("POST", f"/products/urn:uuid:{UNKNOWN}/discontinue", None, 404, "not-found"),
    ("POST", f"/products/{UNKNOWN.replace('-', '')}/discontinue", None, 404, "not-found"),
    ("POST", "/products/{p}/stock", {"quantity": 0}, 422, "validation-failed"),
    ("POST", "/products/{p}/stock", {"quantity": 1_000_001}, 422, "validation-failed"),
    ("POST", "/products/{p}/stock", {"quantity": 1.5}, 422, "validation-failed"),
    ("POST", "/products/{p}/stock", {"quantity": "3"}, 422, "validation-failed"),
    ("POST", "/products/{p}/stock", {}, 422, "validation-failed"),
    ("POST", "/products/{p}/stock", f'{{"quantity": {HUGE_INTEGER}}}'.encode(), 400, "malformed-json"),
    ("POST", "/products/{p}/stock", DEEP_NESTING, 400, "malformed-json"),
    ("POST", f"/products/{UNKNOWN}/stock", {"quantity": 1}, 404, "not-found"),
    ("GET", "/products", None, 405, "method-not-allowed"),
    ("DELETE", "/products/{p}", None, 405, "method-not-allowed"),
    ("POST", "/products/{p}", None, 405, "method-not-allowed"),
    ("POST", "/nothing/here", None, 404, "not-found"),
    ("POST", "/products/{p}/price/extra", None, 404, "not-found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_COMMANDS)
def test_bad_commands_are_refused_and_change_nothing(
    stack: Any, product: str, method: str, path: str, body: Any, status: int, code: str
) -> None:
    before = events_stored(stack)
    response = stack.command(method, path.replace("{p}", product), body)
    problem = assert_problem(response, status, code)
    if status == 422:
        assert problem["errors"], problem
        assert all(set(e) == {"field", "message"} for e in problem["errors"])
    if status == 405:
        assert response.headers["Allow"]
    assert events_stored(stack) == before


def test_the_currency_error_names_the_field(stack: Any) -> None:
    problem = assert_problem(
        stack.command("POST", "/products", GOOD_PRODUCT | {"price": {"amount": 5, "currency": "USD"}}),
        422,
        "validation-failed",
    )
    assert problem["errors"] == [{"field": "price.currency", "message": "this shop sells in EUR"}]


def test_a_body_over_64_kb_is_413(stack: Any) -> None:
    body = json.dumps(GOOD_PRODUCT | {"description": "x" * (64 * 1024)}).encode()
    assert_problem(stack.command("POST", "/products", body), 413, "content-too-large")
    assert events_stored(stack) == 0


def test_a_body_that_is_not_json_is_415(stack: Any) -> None:
    response = stack.command(
        "POST", "/products", b"sku=A", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_json_media_types_other_than_application_json_are_json(stack: Any) -> None:
    """Regression: ``+json`` types and other letter cases passed the 415 screen, then were 500s."""
    for content_type in ("application/merge-patch+json", "Application/JSON"):
        body = json.dumps(GOOD_PRODUCT | {"sku": f"MUG-{len(content_type)}"}).encode()
        assert stack.command("POST", "/products", body, headers={"content-type": content_type}).status == 201
    empty = stack.command("POST", "/products", b"", headers={"content-type": "text/plain"})
    assert_problem(empty, 400, "malformed-json")


def test_if_match_guards_commands(stack: Any, product: str) -> None:
    price = {"amount": 2, "currency": "EUR"}
    problem = assert_problem(
        stack.command("PUT", f"/products/{product}/price", price, {"if-match": '"7"'}),
        412,
        "version-mismatch",
    )
    assert "version 1" in problem["detail"]
    assert_problem(
        stack.command("PUT", f"/products/{product}/price", price, {"if-match": "7"}), 400, "bad-precondition"
    )
    ok = stack.command("PUT", f"/products/{product}/price", price, {"if-match": '"1"'})
    assert (ok.status, ok.headers["ETag"]) == (200, '"2"')
    stock = stack.command("POST", f"/products/{product}/stock", {"quantity": 1}, {"if-match": '"0"'})
    assert stock.status == 200  # the stock version, not the product's
    assert_problem(
        stack.command("POST", f"/products/{product}/stock", {"quantity": 1}, {"if-match": '"0"'}),
        412,
        "version-mismatch",
    )
    # The product's own ETag ("<version>.<stockVersion>") may be sent back as it is.
    price = {"amount": 3, "currency": "EUR"}
    assert stack.command("PUT", f"/products/{product}/price", price, {"if-match": '"2.1"'}).status == 200
    stocked = stack.command("POST", f"/products/{product}/stock", {"quantity": 1}, {"if-match": '"3.1"'})
    assert stocked.status == 200
    assert_problem(
        stack.command("PUT", f"/products/{product}/price", price, {"if-match": '"2.2"'}),
        412,
        "version-mismatch",
    )


BAD_QUERIES = [
    ("/products?limit=0", 400, "bad-request"),
    ("/products?limit=101", 400, "bad-request"),
    ("/products?limit=abc", 400, "bad-request"),
    ("/products?category=Not%20Valid", 400, "bad-request"),
    ("/products?cursor=nonsense", 400, "bad-request"),
    (f"/products/{UNKNOWN}", 404, "not-found"),
    ("/products/not-a-uuid", 404, "not-found"),
    ("/products/%20", 404, "not-found"),
    ("/carts-typo", 404, "not-found"),
]


@pytest.mark.parametrize(("path", "status", "code"), BAD_QUERIES)
def test_bad_queries(stack: Any, path: str, status: int, code: str) -> None:
    assert_problem(stack.query("GET", path), status, code)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_query_api_only_reads(stack: Any, method: str) -> None:
    response = stack.request("QueryApi", method, "/products", {"sku": "X"})
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "GET"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "sku": json_values | st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
        "name": json_values,
        "description": json_values,
        "category": json_values,
        "price": json_values | st.fixed_dictionaries({"amount": json_values, "currency": json_values}),
        "amount": json_values,
        "currency": json_values,
        "quantity": json_values,
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(
        ["POST /products", "PATCH /products/{p}", "PUT /products/{p}/price", "POST /products/{p}/stock"]
    ),
    body=fields | json_values,
)
def test_no_body_causes_a_5xx(stack: Any, product: str, route: str, body: Any) -> None:
    method, path = route.split(" ")
    response = stack.command(method, path.replace("{p}", product), body)
    assert response.status < 500, response.body
    if response.status >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_body_that_is_not_utf8_is_400(stack: Any) -> None:
    before = events_stored(stack)
    assert_problem(stack.command("POST", "/products", b"\xff\xfe{}"), 400, "malformed-json")
    assert_problem(
        stack.command(
            "POST", "/products", b"\xff\xfe{}", headers={"content-type": "application/octet-stream"}
        ),
        415,
        "unsupported-media-type",
    )
    assert events_stored(stack) == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(min_size=1, max_size=200),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_no_raw_bytes_cause_a_5xx(stack: Any, body: bytes, content_type: str) -> None:
    response = stack.command("POST", "/products", body, headers={"content-type": content_type})
    assert 400 <= response.status < 500, response.body

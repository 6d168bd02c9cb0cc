"""A cursor signed with the real secret but holding a position no listing made (issue 10, found by
a fuzzer: forging one needs the secret, which a developer's local stack hands out) is a 400, never
a 500 from DynamoDB refusing the ``ExclusiveStartKey``."""

from __future__ import annotations

from typing import Any

import pytest

from shop.http.cursor import CursorCodec

PRODUCTS = {
    "productId": "7d1c5f0e-1111-4e5f-8a6b-7c8d9e0f1a2b",
    "activeCategory": "kitchen",
    "nameKey": "mug#7",
}
ORDERS = {"orderId": "7d1c5f0e-2222-4e5f-8a6b-7c8d9e0f1a2b", "customerId": "alice", "placedKey": "2026#7"}

#: (what is wrong, listing path, the query the cursor is bound to, the position it holds)
FORGED: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("a number as a key", "/products?category=kitchen", {"category": "kitchen"}, PRODUCTS | {"productId": 5}),
    ("a list as a key", "/products?category=kitchen", {"category": "kitchen"}, PRODUCTS | {"nameKey": ["a"]}),
    ("an object as a key", "/products?category=kitchen", {"category": "kitchen"}, PRODUCTS | {"nameKey": {}}),
    ("no position", "/products?category=kitchen", {"category": "kitchen"}, {}),
    (
        "a key missing",
        "/products?category=kitchen",
        {"category": "kitchen"},
        {"productId": "p", "nameKey": "n"},
    ),
    ("a key too many", "/products?category=kitchen", {"category": "kitchen"}, PRODUCTS | {"sku": "X"}),
    ("an empty key", "/products?category=kitchen", {"category": "kitchen"}, PRODUCTS | {"productId": ""}),
    (
        "another partition",
        "/products?category=kitchen",
        {"category": "kitchen"},
        PRODUCTS | {"activeCategory": "x"},
    ),
    (
        "an oversized sort key",
        "/products?category=kitchen",
        {"category": "kitchen"},
        PRODUCTS | {"nameKey": "n" * 1025},
    ),
    (
        "null as a key",
        "/products",
        {"category": None},
        {"productId": "p", "activeListing": None, "nameKey": "n"},
    ),
    (
        "an unpaired surrogate in a sort key",
        "/products?category=kitchen",
        {"category": "kitchen"},
        PRODUCTS | {"nameKey": "\ud800"},
    ),
    (
        "an unpaired surrogate in the table key",
        "/products",
        {"category": None},
        {"productId": "\udfff", "activeListing": "ACTIVE", "nameKey": "n"},
    ),
    ("another customer", "/customers/alice/orders", {"customerId": "alice"}, ORDERS | {"customerId": "bob"}),
    (
        "an unpaired surrogate in a key",
        "/customers/alice/orders",
        {"customerId": "alice"},
        ORDERS | {"orderId": "\ud83d"},
    ),
    ("a number as a key", "/customers/alice/orders", {"customerId": "alice"}, ORDERS | {"placedKey": 1.5}),
    (
        "a key missing",
        "/customers/alice/orders",
        {"customerId": "alice"},
        {"orderId": "o", "customerId": "alice"},
    ),
]


@pytest.mark.parametrize(
    ("wrong", "path", "query", "position"), FORGED, ids=[f"{f[1]}: {f[0]}" for f in FORGED]
)
def test_a_genuinely_signed_cursor_with_a_malformed_position_is_a_400(
    stack: Any, wrong: str, path: str, query: dict[str, Any], position: dict[str, Any]
) -> None:
    secret = stack.clients.secretsmanager.get_secret_value(SecretId=stack.physical["SigningSecret"])
    cursor = CursorCodec(secret["SecretString"]).encode(position, query)
    separator = "&" if "?" in path else "?"

    response = stack.query("GET", f"{path}{separator}cursor={cursor}")

    assert response.status == 400, (wrong, response.body)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:shop:problem:bad-request"

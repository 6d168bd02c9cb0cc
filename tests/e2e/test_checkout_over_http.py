"""The shop's journey over HTTP on the local stack: browse -> cart -> checkout -> confirmed ->
cancel -> stock restored, by a customer with her own token; a rejection; and many buyers at once
against scarce stock (their carts opened for them by the admin)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.stack.client import call, eventually
from local.stack.process import StackProcess


def new_product(stack: StackProcess, name: str, units: int, cents: int = 700) -> tuple[str, str]:
    category = f"e2e-{uuid.uuid4().hex[:8]}"
    body = {
        "sku": f"E2E-{uuid.uuid4().hex[:10]}",
        "name": name,
        "category": category,
        "price": {"amount": cents, "currency": "EUR"},
    }
    admin = stack.tokens["admin"]
    product = call("POST", f"{stack.command}/products", body, token=admin).json()["productId"]
    if units:
        stocked = call("POST", f"{stack.command}/products/{product}/stock", {"quantity": units}, token=admin)
        assert stocked.status == 200, stocked.body
    eventually(lambda: call("GET", f"{stack.query}/products/{product}").json().get("available") == units)
    return product, category


def order_status(stack: StackProcess, order_id: str, user: str = "admin") -> str | None:
    reply = call("GET", f"{stack.query}/orders/{order_id}", token=stack.tokens[user])
    return reply.json()["status"] if reply.status == 200 else None


def available(stack: StackProcess, product: str) -> int:
    return int(call("GET", f"{stack.query}/products/{product}").json()["available"])


def buy(
    stack: StackProcess, product: str, quantity: int, *, user: str = "admin", cart_body: Any = None
) -> str:
    """A cart (``cart_body``: ``{}`` for the user's own, or the customer an admin opens it for), a
    line, a checkout: the order id."""
    token = stack.tokens[user]
    created = call("POST", f"{stack.command}/carts", cart_body if cart_body is not None else {}, token=token)
    assert created.status == 201, created.body
    cart = created.json()["cartId"]
    added = call(
        "POST",
        f"{stack.command}/carts/{cart}/items",
        {"productId": product, "quantity": quantity},
        token=token,
    )
    assert added.status == 200, added.body
    checkout = call("POST", f"{stack.command}/carts/{cart}/checkout", token=token)
    assert checkout.status == 202, checkout.body
    assert checkout.headers["Location"] == f"/orders/{checkout.json()['orderId']}"
    return str(checkout.json()["orderId"])


def test_browse_cart_checkout_confirm_cancel_restock(local_stack: StackProcess) -> None:
    product, category = new_product(local_stack, "Teapot", 5)
    listed = call("GET", f"{local_stack.query}/products?category={category}").json()["items"]
    assert [p["productId"] for p in listed] == [product]

    alice = local_stack.tokens["alice"]
    order_id = buy(local_stack, product, 2, user="alice")
    eventually(lambda: order_status(local_stack, order_id, "alice") == "CONFIRMED")
    eventually(lambda: available(local_stack, product) == 3)
    customer = call("GET", f"{local_stack.query}/orders/{order_id}", token=alice).json()["customerId"]
    orders = call("GET", f"{local_stack.query}/customers/{customer}/orders", token=alice).json()["items"]
    assert order_id in [o["orderId"] for o in orders]

    cancelled = call("POST", f"{local_stack.command}/orders/{order_id}/cancel", token=alice)
    assert cancelled.status == 200, cancelled.body
    eventually(lambda: order_status(local_stack, order_id, "alice") == "CANCELLED")
    eventually(lambda: available(local_stack, product) == 5)


def test_an_order_beyond_the_stock_is_rejected(local_stack: StackProcess) -> None:
    product, _ = new_product(local_stack, "Rare vase", 1)
    order_id = buy(local_stack, product, 3, cart_body={"customerId": "someone"})
    eventually(lambda: order_status(local_stack, order_id) == "REJECTED")
    order: dict[str, Any] = call(
        "GET", f"{local_stack.query}/orders/{order_id}", token=local_stack.tokens["admin"]
    ).json()
    assert order["reason"] == "Not enough stock for: Rare vase (requested 3, available 1)"
    assert available(local_stack, product) == 1


def test_twelve_buyers_five_units_over_http(local_stack: StackProcess) -> None:
    product, _ = new_product(local_stack, "Limited print", 5)
    with ThreadPoolExecutor(12) as pool:
        orders = list(
            pool.map(
                lambda n: buy(local_stack, product, 1, cart_body={"customerId": f"buyer-{n}"}), range(12)
            )
        )

    def settled() -> list[str | None] | None:
        statuses = [order_status(local_stack, o) for o in orders]
        return statuses if all(s in ("CONFIRMED", "REJECTED") for s in statuses) else None

    statuses = eventually(settled, timeout=30)
    assert statuses.count("CONFIRMED") == 5
    assert statuses.count("REJECTED") == 7
    assert available(local_stack, product) == 0

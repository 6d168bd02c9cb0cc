"""A browse-heavy mix for locust, against a started local stack (``bench/load/run.py`` starts one).

Every task is one request; the weights are the mix, in requests: 90 % reads (a product page 70 %, a
list of products 18 %, of which a third by category, a cart 1 %, an order 1 %) and 10 % writes, each
the next step of the user's purchase (open a cart, add a line, add a second line, check out).
Carts and orders are the customers' own (the demo users' tokens, as `make run` prints them).

Each user runs at a constant throughput (``LOAD_USER_RATE`` tasks per second), so the offered rate
is ``users x LOAD_USER_RATE`` for as long as a request takes less than ``1 / LOAD_USER_RATE``; past
that the users fall behind and the achieved rate drops below the offered one: the saturation.

Runs in ``.venv-bench`` (locust); it imports nothing of the shop's. Settings, from the environment:
LOAD_COMMAND_URL (the Command API; ``--host`` is the Query API), LOAD_TOKENS (customer tokens,
comma-separated), LOAD_PRODUCTS (product ids to browse), LOAD_STOCKED (to buy), LOAD_CATEGORIES,
LOAD_CARTS and LOAD_ORDERS (``token-index:id`` pairs that exist already), LOAD_USER_RATE.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from locust import FastHttpUser, constant_throughput, task

COMMAND = os.environ.get("LOAD_COMMAND_URL", "http://127.0.0.1:3001")
TOKENS = [t for t in os.environ.get("LOAD_TOKENS", "").split(",") if t]
PRODUCTS = [p for p in os.environ.get("LOAD_PRODUCTS", "").split(",") if p]
STOCKED = [p for p in os.environ.get("LOAD_STOCKED", "").split(",") if p] or PRODUCTS
CATEGORIES = [c for c in os.environ.get("LOAD_CATEGORIES", "").split(",") if c]
USER_RATE = float(os.environ.get("LOAD_USER_RATE", "0.5"))


def _pairs(variable: str) -> list[tuple[int, str]]:
    pairs = []
    for item in os.environ.get(variable, "").split(","):
        if item:
            index, _, identifier = item.partition(":")
            pairs.append((int(index), identifier))
    return pairs


#: (index of the owner's token, id): carts and orders that exist, shared by every user of this process.
CARTS = _pairs("LOAD_CARTS")
ORDERS = _pairs("LOAD_ORDERS")
#: A purchase's cart and order join those above this long after its checkout: reads of a customer's
#: own cart and order, not of a projection that is still on its way (a 404 that measures the lag).
SETTLE_SECONDS = 30.0
#: (time they are read from, owner, cart, order) of the purchases made here.
SETTLING: list[tuple[float, int, str, str | None]] = []
JSON = {"Content-Type": "application/json"}


def _settle() -> None:
    now = time.monotonic()
    while SETTLING and SETTLING[0][0] <= now:
        _, owner, cart, order = SETTLING.pop(0)
        CARTS.append((owner, cart))
        if order is not None:
            ORDERS.append((owner, order))


class Shopper(FastHttpUser):
    wait_time = constant_throughput(USER_RATE)

    def on_start(self) -> None:
        self.owner = random.randrange(len(TOKENS))
        self.auth = {"Authorization": f"Bearer {TOKENS[self.owner]}"}
        self.cart: str | None = None
        self.lines = 0

    # Reads: 90.

    @task(70)
    def product(self) -> None:
        self.client.get(f"/products/{random.choice(PRODUCTS)}", name="GET /products/{id}")

    @task(12)
    def list_products(self) -> None:
        self.client.get("/products?limit=20", name="GET /products")

    @task(6)
    def list_category(self) -> None:
        self.client.get(f"/products?category={random.choice(CATEGORIES)}", name="GET /products?category")

    @task(1)
    def get_cart(self) -> None:
        _settle()
        owner, cart = random.choice(CARTS)
        self.client.get(f"/carts/{cart}", headers=self._auth(owner), name="GET /carts/{id}")

    @task(1)
    def get_order(self) -> None:
        _settle()
        owner, order = random.choice(ORDERS)
        self.client.get(f"/orders/{order}", headers=self._auth(owner), name="GET /orders/{id}")

    # Writes: 10, one step of a purchase each.

    @task(10)
    def purchase_step(self) -> None:
        headers = {**self.auth, **JSON}
        if self.cart is None:
            body = self._post("/carts", {}, headers, "POST /carts", 201)
            if body is not None:
                self.cart, self.lines = str(body["cartId"]), 0
        elif self.lines < 2:
            line = {"productId": random.choice(STOCKED), "quantity": 1}
            if (
                self._post(f"/carts/{self.cart}/items", line, headers, "POST /carts/{id}/items", 200)
                is not None
            ):
                self.lines += 1
        else:
            cart, self.cart = self.cart, None
            body = self._post(f"/carts/{cart}/checkout", None, headers, "POST /carts/{id}/checkout", 202)
            order = str(body["orderId"]) if body is not None else None
            SETTLING.append((time.monotonic() + SETTLE_SECONDS, self.owner, cart, order))

    def _auth(self, owner: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[owner]}"}

    def _post(
        self, path: str, body: dict[str, Any] | None, headers: dict[str, str], name: str, expected: int
    ) -> dict[str, Any] | None:
        with self.client.post(
            f"{COMMAND}{path}", json=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code != expected:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                return None
            payload: dict[str, Any] = response.json()
            return payload

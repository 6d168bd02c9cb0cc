"""One service down at a time, over HTTP on the local stack: the shop still sells, and when the
service comes back nothing is lost (spec §4 "Resilience"; docs/resilience.md "Outages, measured").

Each scenario takes a service down for a few seconds (its functions throttled to 0 through the
Lambda endpoint, or its event store failing through the AWS endpoint's fault switch), drives the
shop as a customer would meanwhile, then brings it back and waits, with a deadline, until every
order made meanwhile has settled and the replay of the event stores (``tests/support/replay.py``)
agrees with the read side for everything the scenario touched. It counts:

* requests served during the outage (answered without a 5xx), and the failed service's own 503s;
* 5xx answered outside the failed service's 503s (must be 0);
* checkouts made during the outage that never became an order (lost) or became two (doubled);
* seconds from recovery until those orders settled (CONFIRMED or REJECTED).

The figures of each scenario are one JSON line: ``record_property("outage", ...)``, printed with the
prefix ``OUTAGE-FIGURES`` (``pytest -s``), and appended to the file ``OUTAGE_FIGURES`` names, if set.

Which functions make up a service is read from ``template.yaml``: a function belongs to the service
whose event store its environment names (commands, projectors, policies: the store they append to
or replay), and a function that names no store to the service whose read table it names (queries).
A service's *write side* is the first kind. Every limit and fault is removed in ``finally`` (the
stack is shared with the other e2e tests).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.aws.apigw import HttpApiRoutes, HttpResponse
from local.aws.template import Template
from local.stack.client import call
from local.stack.control import LocalControl
from local.stack.process import StackProcess
from tests.support.replay import CART, CATALOG, ORDERS, SERVICES, Report, check, read_snapshot, replay

#: Longest a refused request may take: a failed service answers at once, it never hangs.
REFUSAL_BOUND = 5.0
#: Longest the orders made during an outage may take to settle once the service is back.
SETTLE_TIMEOUT = 60.0
#: Checkouts made during each outage.
CHECKOUTS = 3
#: Shortest outage: browsing goes on until then. The failing event store's lasts longer than the
#: 8 retries policies had before their 6 h budget (given up after about 8 s: the issue's lost checkouts).
OUTAGE_SECONDS = 5.0
STORE_OUTAGE_SECONDS = 12.0
FINAL = ("CONFIRMED", "REJECTED")

TEMPLATE = Template()
ROUTES = {
    "command": HttpApiRoutes(TEMPLATE.routes_of("CommandApi")),
    "query": HttpApiRoutes(TEMPLATE.routes_of("QueryApi")),
}


def _tables_named(function: str) -> set[str]:
    environment = TEMPLATE.functions[function].environment
    return {value["Ref"] for value in environment.values() if isinstance(value, dict) and "Ref" in value}


def functions_of(store: str, *, write_side: bool = False) -> frozenset[str]:
    """The functions of the service that owns ``store`` (see the module's docstring)."""
    stores = {service.store for service in SERVICES}
    view = next(service.view for service in SERVICES if service.store == store)
    found = set()
    for function in TEMPLATE.functions:
        named = _tables_named(function)
        if named & stores:
            if store in named:
                found.add(function)
        elif view in named and not write_side:
            found.add(function)
    return frozenset(found)


def function_of(api: str, method: str, path: str) -> str:
    match = ROUTES[api].match(method, path.partition("?")[0])
    assert match is not None, f"no route {method} {path}"
    return match.route.function


@dataclass
class Tally:
    """Every request of a scenario, classified by what answered it."""

    #: The functions taken down: their routes may answer 503 (the failed service's own).
    down: frozenset[str]
    served: int = 0
    refused: int = 0
    slowest_refusal: float = 0.0
    #: Every 5xx outside the failed service's 503s (must stay empty).
    unexpected: list[str] = field(default_factory=list)
    problem_types: Counter[str] = field(default_factory=Counter)

    def send(self, stack: StackProcess, api: str, method: str, path: str, body: Any = None) -> HttpResponse:
        base = stack.command if api == "command" else stack.query
        started = time.monotonic()
        reply = call(method, f"{base}{path}", body, token=stack.tokens["admin"], timeout=30)
        elapsed = time.monotonic() - started
        function = function_of(api, method, path)
        if reply.status == 503 and function in self.down:
            self.refused += 1
            self.slowest_refusal = max(self.slowest_refusal, elapsed)
            assert reply.headers["Content-Type"] == "application/problem+json", reply.headers
            assert int(reply.headers["Retry-After"]) >= 1
            self.problem_types[reply.json()["type"]] += 1
        elif reply.status >= 500:
            self.unexpected.append(f"{method} {path} -> {reply.status} ({function}): {reply.body[:300]!r}")
        else:
            self.served += 1
        return reply

    def until(self, check: Callable[[], Any], timeout: float = 15.0) -> Any:
        """``check`` (sending through this tally) until truthy; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        while not (value := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout} s: {check}")
            time.sleep(0.1)
        return value


@dataclass
class Shopper:
    """One scenario's customer and products, everything sent through ``tally``."""

    stack: StackProcess
    tally: Tally
    customer: str = field(default_factory=lambda: f"outage-{uuid.uuid4().hex[:10]}")
    category: str = field(default_factory=lambda: f"outage-{uuid.uuid4().hex[:8]}")
    #: Every product, cart and order id the scenario made (the replay check's scope).
    entities: set[str] = field(default_factory=set)

    def send(self, api: str, method: str, path: str, body: Any = None) -> HttpResponse:
        return self.tally.send(self.stack, api, method, path, body)

    def product(self, units: int) -> str:
        body = {
            "sku": f"OUT-{uuid.uuid4().hex[:10]}",
            "name": f"Outage {uuid.uuid4().hex[:6]}",
            "category": self.category,
            "price": {"amount": 1500, "currency": "EUR"},
        }
        created = self.send("command", "POST", "/products", body)
        assert created.status == 201, created.body
        product = str(created.json()["productId"])
        stocked = self.send("command", "POST", f"/products/{product}/stock", {"quantity": units})
        assert stocked.status == 200, stocked.body
        self.entities.add(product)
        self.tally.until(
            lambda: self.send("query", "GET", f"/products/{product}").json().get("available") == units
        )
        return product

    def browse(self, product: str) -> None:
        listed = self.send("query", "GET", f"/products?category={self.category}")
        assert listed.status == 200, listed.body
        assert product in [item["productId"] for item in listed.json()["items"]]
        shown = self.send("query", "GET", f"/products/{product}")
        assert shown.status == 200, shown.body

    def cart(self, product: str) -> str:
        created = self.send("command", "POST", "/carts", {"customerId": self.customer})
        assert created.status == 201, created.body
        cart = str(created.json()["cartId"])
        self.entities.add(cart)
        added = self.send("command", "POST", f"/carts/{cart}/items", {"productId": product, "quantity": 1})
        assert added.status == 200, added.body
        return cart

    def read_cart(self, cart: str, status: str) -> None:
        """The cart as the Query API shows it, once its projector has caught up."""

        def shown() -> bool:
            reply = self.send("query", "GET", f"/carts/{cart}")
            return reply.status == 200 and reply.json()["status"] == status and bool(reply.json()["items"])

        self.tally.until(shown)

    def checkout(self, cart: str) -> str:
        checkout = self.send("command", "POST", f"/carts/{cart}/checkout")
        assert checkout.status == 202, checkout.body
        order = str(checkout.json()["orderId"])
        self.entities.add(order)
        return order

    def buy(self, product: str) -> str:
        cart = self.cart(product)
        self.read_cart(cart, "OPEN")
        return self.checkout(cart)

    def keep_browsing(self, product: str, began: float, seconds: float) -> None:
        """Browse, a few times a second, until the outage has lasted ``seconds``."""
        while time.monotonic() < began + seconds:
            self.browse(product)
            time.sleep(0.2)

    def status(self, order: str) -> str | None:
        reply = self.send("query", "GET", f"/orders/{order}")
        return str(reply.json()["status"]) if reply.status == 200 else None

    def confirmed_order(self, product: str) -> str:
        order = self.buy(product)
        self.tally.until(lambda: self.status(order) == "CONFIRMED")
        return order


@dataclass
class Settled:
    statuses: dict[str, str | None]
    seconds: float
    report: Report


def settle(shopper: Shopper, orders: list[str], extra: Callable[[], bool] = lambda: True) -> Settled:
    """From recovery: until every order is CONFIRMED or REJECTED (and ``extra`` holds), then until the
    replay check of the scenario's aggregates is clean; both with a deadline."""
    recovered = time.monotonic()
    deadline = recovered + SETTLE_TIMEOUT
    while True:
        statuses = {order: shopper.status(order) for order in orders}
        if (all(s in FINAL for s in statuses.values()) and extra()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    seconds = time.monotonic() - recovered
    client = boto3.client("dynamodb", endpoint_url=shopper.stack.endpoint)
    while True:
        report = check(read_snapshot(client)).only(shopper.entities)
        if report.ok or time.monotonic() > deadline:
            return Settled(statuses, seconds, report)
        time.sleep(0.3)


def placed_counts(stack: StackProcess, orders: list[str]) -> dict[str, int]:
    """How many ``OrderPlaced`` events each order's stream holds (replayed from OrderEventStore)."""
    replayed = replay(read_snapshot(boto3.client("dynamodb", endpoint_url=stack.endpoint)))
    streams = replayed.streams[ORDERS]
    return {
        order: sum(1 for event in streams.get(f"order-{order}", []) if event.type == "OrderPlaced")
        for order in orders
    }


def figures(
    scenario: str,
    tally: Tally,
    outage: float,
    orders: list[str],
    settled: Settled,
    stack: StackProcess,
    since: int,
) -> dict[str, Any]:
    placed = placed_counts(stack, orders)
    return {
        "scenario": scenario,
        "down": sorted(tally.down),
        "outage_s": round(outage, 1),
        "requests": tally.served + tally.refused + len(tally.unexpected),
        "served": tally.served,
        "refused_503": tally.refused,
        "problem_types": dict(sorted(tally.problem_types.items())),
        "slowest_refusal_s": round(tally.slowest_refusal, 2),
        "unexpected_5xx": len(tally.unexpected),
        "checkouts": len(orders),
        "lost": sum(1 for order in orders if placed[order] == 0 or settled.statuses[order] not in FINAL),
        "doubled": sum(1 for count in placed.values() if count > 1),
        "settle_s": round(settled.seconds, 1),
        "orders": dict(sorted(Counter(str(s) for s in settled.statuses.values()).items())),
        "on_failure_records": sum(
            "on-failure queue" in line and any(f"-> {function}]" in line for function in tally.down)
            for line in stack.output[since:]
        ),
        "load_1m": round(os.getloadavg()[0], 1),
    }


def report_figures(record_property: Callable[[str, object], None], found: dict[str, Any]) -> None:
    line = json.dumps(found, sort_keys=False)
    record_property("outage", line)
    print(f"\nOUTAGE-FIGURES {line}")
    path = os.environ.get("OUTAGE_FIGURES")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def assert_promise_kept(found: dict[str, Any], during: Tally, after: Tally, settled: Settled) -> None:
    assert during.unexpected == [], during.unexpected
    assert after.unexpected == [], after.unexpected
    assert found["slowest_refusal_s"] < REFUSAL_BOUND, found
    assert found["lost"] == 0, (found, settled.statuses)
    assert found["doubled"] == 0, found
    assert settled.report.ok, settled.report.summary()


@pytest.fixture
def control(local_stack: StackProcess) -> Iterator[LocalControl]:
    running = LocalControl.of(local_stack)
    try:
        yield running
    finally:
        running.restore()


def test_the_services_are_read_from_the_template() -> None:
    assert functions_of(ORDERS) == {
        "OrderCommands",
        "OrderQueries",
        "OrderProjector",
        "OrderIntakePolicy",
        "OrderFulfilmentPolicy",
    }
    assert functions_of(CATALOG, write_side=True) == {
        "CatalogCommands",
        "CatalogProjector",
        "StockReservationPolicy",
    }
    assert functions_of(CART) == {"CartCommands", "CartQueries", "CartProjector"}
    assert "CatalogQueries" in functions_of(CATALOG) - functions_of(CATALOG, write_side=True)


def test_orders_down_the_shop_still_sells_and_every_checkout_becomes_one_order(
    local_stack: StackProcess, control: LocalControl, record_property: Callable[[str, object], None]
) -> None:
    down = functions_of(ORDERS)
    tally = Tally(down)
    shopper = Shopper(local_stack, tally)
    product = shopper.product(units=2)  # 1 earlier, then 3 checkouts of 1: one confirmed, two rejected
    earlier = shopper.confirmed_order(product)
    since = len(local_stack.output)

    orders: list[str] = []
    during = shopper.tally = Tally(tally.down)
    began = time.monotonic()
    with control.throttled(*sorted(down)):
        for _ in range(CHECKOUTS):
            shopper.browse(product)
            order = shopper.buy(product)
            orders.append(order)
            for method, path in (
                ("GET", f"/orders/{order}"),
                ("GET", f"/orders/{earlier}"),
                ("GET", f"/customers/{shopper.customer}/orders"),
            ):
                assert shopper.send("query", method, path).status == 503
            cancel = shopper.send("command", "POST", f"/orders/{earlier}/cancel")
            assert cancel.status == 503
        shopper.keep_browsing(product, began, OUTAGE_SECONDS)
        outage = time.monotonic() - began
    after = shopper.tally = Tally(tally.down)
    settled = settle(shopper, orders)

    found = figures("orders-throttled", during, outage, orders, settled, local_stack, since)
    report_figures(record_property, found)
    assert_promise_kept(found, during, after, settled)
    assert during.problem_types.keys() == {"urn:shop:problem:function-throttled"}
    assert during.refused == 4 * CHECKOUTS
    assert Counter(settled.statuses.values()) == {"CONFIRMED": 1, "REJECTED": 2}  # 2 units: 1 earlier
    assert shopper.status(earlier) == "CONFIRMED"  # the refused cancellations changed nothing


def test_the_order_event_store_failing_orders_answer_503_and_every_checkout_becomes_one_order(
    local_stack: StackProcess, control: LocalControl, record_property: Callable[[str, object], None]
) -> None:
    tally = Tally(functions_of(ORDERS))
    shopper = Shopper(local_stack, tally)
    product = shopper.product(units=5)
    earlier = shopper.confirmed_order(product)
    since = len(local_stack.output)

    orders: list[str] = []
    during = shopper.tally = Tally(tally.down)
    began = time.monotonic()
    with control.faulted(ORDERS):
        for _ in range(CHECKOUTS):
            shopper.browse(product)
            order = shopper.buy(product)
            orders.append(order)
            assert shopper.status(order) is None  # not placed: OrderIntakePolicy cannot write it
            assert shopper.status(earlier) == "CONFIRMED"  # reads come from OrdersView
            cancel = shopper.send("command", "POST", f"/orders/{earlier}/cancel")
            assert cancel.status == 503, cancel.body
            assert cancel.json()["type"] == "urn:shop:problem:dependency-unavailable"
        shopper.keep_browsing(product, began, STORE_OUTAGE_SECONDS)
        outage = time.monotonic() - began
    after = shopper.tally = Tally(tally.down)
    settled = settle(shopper, orders)

    found = figures("order-store-failing", during, outage, orders, settled, local_stack, since)
    report_figures(record_property, found)
    assert_promise_kept(found, during, after, settled)
    assert during.problem_types == {"urn:shop:problem:dependency-unavailable": CHECKOUTS}
    assert Counter(settled.statuses.values()) == {"CONFIRMED": CHECKOUTS}
    assert found["on_failure_records"] == 0  # retried within the policy's budget, nothing parked


def test_catalog_write_side_down_browsing_and_checkout_go_on_and_orders_settle_after(
    local_stack: StackProcess, control: LocalControl, record_property: Callable[[str, object], None]
) -> None:
    down = functions_of(CATALOG, write_side=True)
    tally = Tally(down)
    shopper = Shopper(local_stack, tally)
    # 1 earlier (cancelled meanwhile) + 3 checkouts of 1: all confirmed, whichever the Catalog sees first.
    product = shopper.product(units=4)
    earlier = shopper.confirmed_order(product)
    since = len(local_stack.output)

    orders: list[str] = []
    during = shopper.tally = Tally(tally.down)
    began = time.monotonic()
    with control.throttled(*sorted(down)):
        refused = shopper.send("command", "POST", f"/products/{product}/stock", {"quantity": 1})
        assert refused.status == 503
        cancelled = shopper.send("command", "POST", f"/orders/{earlier}/cancel")
        assert cancelled.status == 200, cancelled.body
        for _ in range(CHECKOUTS):
            shopper.browse(product)
            orders.append(shopper.buy(product))
        # Placed, but no stock can be reserved while the Catalog's write side is down.
        during.until(lambda: all(shopper.status(order) == "PENDING" for order in orders))
        during.until(lambda: shopper.status(earlier) == "CANCELLED")
        shopper.keep_browsing(product, began, OUTAGE_SECONDS)
        outage = time.monotonic() - began
    after = shopper.tally = Tally(tally.down)
    settled = settle(
        shopper,
        orders,
        extra=lambda: shopper.send("query", "GET", f"/products/{product}").json()["available"] == 1,
    )

    found = figures("catalog-write-side-throttled", during, outage, orders, settled, local_stack, since)
    report_figures(record_property, found)
    assert_promise_kept(found, during, after, settled)
    assert during.refused == 1
    assert Counter(settled.statuses.values()) == {"CONFIRMED": CHECKOUTS}


def test_cart_down_browsing_orders_and_cancellations_keep_working(
    local_stack: StackProcess, control: LocalControl, record_property: Callable[[str, object], None]
) -> None:
    down = functions_of(CART)
    tally = Tally(down)
    shopper = Shopper(local_stack, tally)
    product = shopper.product(units=5)
    earlier = shopper.confirmed_order(product)
    open_cart = shopper.cart(product)
    # Checkouts still on their way when the Cart service goes down: its event store is not down, so
    # OrderIntakePolicy still reads them.
    in_flight = [shopper.checkout(shopper.cart(product)) for _ in range(2)]
    since = len(local_stack.output)

    during = shopper.tally = Tally(tally.down)
    began = time.monotonic()
    with control.throttled(*sorted(down)):
        shopper.browse(product)
        for method, api, path in (
            ("POST", "command", "/carts"),
            ("POST", "command", f"/carts/{open_cart}/items"),
            ("GET", "query", f"/carts/{open_cart}"),
            ("POST", "command", f"/carts/{open_cart}/checkout"),
        ):
            body = {"customerId": shopper.customer} if path == "/carts" else None
            if path.endswith("/items"):
                body = {"productId": product, "quantity": 1}
            assert shopper.send(api, method, path, body).status == 503
        listed = shopper.send("query", "GET", f"/customers/{shopper.customer}/orders")
        assert listed.status == 200
        cancelled = shopper.send("command", "POST", f"/orders/{earlier}/cancel")
        assert cancelled.status == 200, cancelled.body
        during.until(lambda: shopper.status(earlier) == "CANCELLED")
        during.until(lambda: all(shopper.status(order) in FINAL for order in in_flight))
        shopper.keep_browsing(product, began, OUTAGE_SECONDS)
        outage = time.monotonic() - began
    after = shopper.tally = Tally(tally.down)
    settled = settle(shopper, in_flight)
    shopper.read_cart(open_cart, "OPEN")  # the Cart service answers again

    found = figures("cart-throttled", during, outage, in_flight, settled, local_stack, since)
    report_figures(record_property, found)
    assert_promise_kept(found, during, after, settled)
    assert during.refused == 4
    assert during.problem_types.keys() == {"urn:shop:problem:function-throttled"}
    assert Counter(settled.statuses.values()) == {"CONFIRMED": 2}

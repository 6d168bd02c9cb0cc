"""The demo aggregates with well-known ids that the samples in ``events/`` address.

Product ids derive from SKUs, so product samples address the demo catalog of ``local.demo.seed``.
Carts and orders have random ids, so the few the samples address are created at start-up with
fixed ids, through the domain model and the event store (``create_sample_aggregates``); the rest
of the system (projectors, policies) then handles them like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from local.demo.seed import DEMO_PRODUCTS

#: The customer the samples act as (their token's ``sub``), who owns the sample carts and order;
#: another customer; and an admin (in the ``admin`` group).
DEMO_CUSTOMER = "c0ffee00-0000-4000-8000-00000000cc01"
OTHER_CUSTOMER = "c0ffee00-0000-4000-8000-00000000cc02"
DEMO_ADMIN = "c0ffee00-0000-4000-8000-00000000ad01"
OPEN_CART = "c0ffee00-0000-4000-8000-00000000ca01"  # lines: ESP-CUP-01 x1, FRENCH-PRESS x1
CHECKOUT_CART = "c0ffee00-0000-4000-8000-00000000ca02"  # line: MUG-CLASSIC x1, for the checkout sample
ORDERED_CART = "c0ffee00-0000-4000-8000-00000000ca03"  # checked out as SAMPLE_ORDER
SAMPLE_ORDER = "c0ffee00-0000-4000-8000-0000000000d1"  # placed, reserved, confirmed by the pipeline
STREAM_CART = "c0ffee00-0000-4000-8000-00000000ca04"  # only in stream samples
STREAM_ORDER = "c0ffee00-0000-4000-8000-0000000000d2"  # placed by the OrderIntakePolicy sample
AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
META = ("sample-correlation", "sample-request", DEMO_CUSTOMER)  # correlation, causation, actor

FIXTURE_CARTS: list[tuple[str, list[tuple[str, int]], str | None]] = [
    (OPEN_CART, [("ESP-CUP-01", 1), ("FRENCH-PRESS", 1)], None),
    (CHECKOUT_CART, [("MUG-CLASSIC", 1)], None),
    (ORDERED_CART, [("GRINDER-HAND", 1)], SAMPLE_ORDER),
]


def product_id(sku: str) -> str:
    from shop.catalog.domain import Product  # noqa: PLC0415 - the layer, imported on use

    return Product.id_for_sku(sku)


def listed(sku: str) -> Any:
    from shop.cart.domain import ListedProduct  # noqa: PLC0415
    from shop.domain.money import Money  # noqa: PLC0415

    _, name, _, cents, _, _ = next(p for p in DEMO_PRODUCTS if p[0] == sku)
    return ListedProduct(product_id(sku), name, Money(amount=cents, currency="EUR"), active=True)


def create_sample_aggregates(dynamodb: Any, physical: Mapping[str, str]) -> int:
    """The carts (and, through checkout, the order) that ``events/`` addresses. Idempotent."""
    if "CartEventStore" not in physical:
        return 0
    from shop.application import Repository  # noqa: PLC0415
    from shop.cart.domain import Cart  # noqa: PLC0415
    from shop.cart.events import cart_events  # noqa: PLC0415
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415
    from shop.eventstore.model import EventMetadata  # noqa: PLC0415

    repository = Repository(
        DynamoDBEventStore(dynamodb, physical["CartEventStore"], upcaster=cart_events), cart_events
    )
    created = 0
    for cart_id, lines, order_id in FIXTURE_CARTS:
        if repository.load(Cart, cart_id).exists:
            continue
        cart = Cart.create(cart_id, DEMO_CUSTOMER, "EUR")
        for sku, quantity in lines:
            cart.add_item(listed(sku), quantity)
        if order_id:
            cart.check_out(order_id)
        repository.save(cart, metadata=EventMetadata(*META))
        created += 1
    return created

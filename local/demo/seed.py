"""A small demo catalog, created through the Command API (so it flows through the whole system).

Product ids derive from SKUs, so the samples in ``events/`` address these products by id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (sku, name, category, price in cents, units in stock, description)
DEMO_PRODUCTS: list[tuple[str, str, str, int, int, str]] = [
    ("ESP-CUP-01", "Espresso cup", "kitchen", 1299, 24, "Porcelain, 80 ml."),
    ("MUG-CLASSIC", "Classic mug", "kitchen", 1499, 40, "Stoneware, 350 ml."),
    ("FRENCH-PRESS", "French press", "kitchen", 3499, 8, "Glass and steel, 1 l."),
    ("BEANS-ETH-250", "Ethiopian beans 250 g", "coffee", 1190, 50, "Light roast, floral."),
    ("BEANS-COL-250", "Colombian beans 250 g", "coffee", 1090, 0, "Medium roast, chocolate notes."),
    ("FILTER-PAPER", "Paper filters (100)", "coffee", 490, 200, ""),
    ("GRINDER-HAND", "Hand grinder", "equipment", 5900, 5, "Conical burrs."),
    ("KETTLE-GOOSE", "Gooseneck kettle", "equipment", 6900, 3, "Pour-over control."),
    ("LEGACY-DRIPPER", "Legacy dripper", "equipment", 1990, 2, "To be discontinued."),
]

Send = Callable[[str, str, dict[str, Any] | None], tuple[int, Any]]


def seed(send: Send, currency: str = "EUR") -> list[str]:
    """Create the demo products and their stock; already existing products are left as they are."""
    created = []
    for sku, name, category, cents, units, description in DEMO_PRODUCTS:
        status, body = send(
            "POST",
            "/products",
            {
                "sku": sku,
                "name": name,
                "category": category,
                "description": description,
                "price": {"amount": cents, "currency": currency},
            },
        )
        if status == 409:
            continue
        if status != 201:
            raise RuntimeError(f"seeding {sku} failed: {status} {body}")
        created.append(body["productId"])
        if units:
            status, body = send("POST", f"/products/{body['productId']}/stock", {"quantity": units})
            if status != 200:
                raise RuntimeError(f"seeding stock of {sku} failed: {status} {body}")
    return created

"""Priced lines as the Query API shows them, for carts and orders alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shop.domain.money import Money


def priced_lines(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``{productId, name, quantity, unitPrice, lineTotal}`` for each stored line."""
    lines = []
    for row in rows:
        unit_price = Money.model_validate(row["unitPrice"])
        quantity = int(row["quantity"])
        lines.append(
            {
                "productId": row["productId"],
                "name": row["name"],
                "quantity": quantity,
                "unitPrice": unit_price.model_dump(),
                "lineTotal": unit_price.times(quantity).model_dump(),
            }
        )
    return lines


def sum_of(lines: Iterable[Mapping[str, Any]], currency: str) -> dict[str, Any]:
    """The total of ``priced_lines`` in ``currency`` (zero for no lines)."""
    total = Money.zero(currency)
    for line in lines:
        total = total.plus(Money.model_validate(line["lineTotal"]))
    return total.model_dump()

"""The projection engine's read-table port: in memory and DynamoDB behave the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shop.projection.dynamodb import DynamoDBReadTable
from shop.projection.engine import CheckpointMoved, ReadTable
from shop.projection.memory import InMemoryReadTable
from tests.support.tables import create_table

KEY = {"productId": "p-1"}


@pytest.fixture(params=["memory", "dynamodb"])
def table(request: pytest.FixtureRequest, template) -> Iterator[ReadTable]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield InMemoryReadTable()
        return
    client = request.getfixturevalue("endpoint_dynamodb")
    yield DynamoDBReadTable(client, create_table(client, template, "ProductsView"))


def test_first_write_creates_the_row_with_its_checkpoint(table: ReadTable) -> None:
    assert table.get(KEY) is None
    table.update(
        KEY, {"name": "Mug", "price": {"amount": 5, "currency": "EUR"}, "status": "ACTIVE"}, "version", 0, 2
    )
    assert table.get(KEY) == {
        "productId": "p-1",
        "name": "Mug",
        "price": {"amount": 5, "currency": "EUR"},
        "status": "ACTIVE",
        "version": 2,
    }


def test_updates_are_conditional_on_the_checkpoint(table: ReadTable) -> None:
    table.update(KEY, {"name": "A"}, "version", 0, 1)
    with pytest.raises(CheckpointMoved):
        table.update(KEY, {"name": "B"}, "version", 0, 1)
    with pytest.raises(CheckpointMoved):
        table.update(KEY, {"name": "B"}, "version", 2, 3)
    table.update(KEY, {"name": "C"}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "name": "C", "version": 2}


def test_two_sources_share_a_row_without_touching_each_other(table: ReadTable) -> None:
    table.update(KEY, {"available": 5}, "stockVersion", 0, 1)
    table.update(KEY, {"name": "Mug"}, "version", 0, 1)
    table.update(KEY, {"available": 3}, "stockVersion", 1, 2)
    assert table.get(KEY) == {
        "productId": "p-1",
        "available": 3,
        "stockVersion": 2,
        "name": "Mug",
        "version": 1,
    }


def test_none_removes_an_attribute(table: ReadTable) -> None:
    table.update(KEY, {"activeCategory": "kitchen", "name": "Mug"}, "version", 0, 1)
    table.update(KEY, {"activeCategory": None}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "version": 2}

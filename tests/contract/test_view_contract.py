"""The read side's port: in memory and DynamoDB views behave the same, for queries and projectors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shop.errors import NotFound
from shop.views import CheckpointMoved, View
from shop.views.dynamodb import DynamoDBView
from shop.views.memory import InMemoryView
from tests.support.tables import create_table

KEY = {"productId": "p-1"}


@pytest.fixture(params=["memory", "dynamodb"])
def table(request: pytest.FixtureRequest, template) -> Iterator[InMemoryView | DynamoDBView]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        indexes = {
            index["IndexName"]: tuple(key["AttributeName"] for key in index["KeySchema"])
            for index in template.tables["ProductsView"]["GlobalSecondaryIndexes"]
        }
        yield InMemoryView(indexes)
        return
    client = request.getfixturevalue("endpoint_dynamodb")
    yield DynamoDBView(client, create_table(client, template, "ProductsView"), consistent=True)


def test_first_write_creates_the_row_with_its_checkpoint(table: View) -> None:
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


def test_updates_are_conditional_on_the_checkpoint(table: View) -> None:
    table.update(KEY, {"name": "A"}, "version", 0, 1)
    with pytest.raises(CheckpointMoved):
        table.update(KEY, {"name": "B"}, "version", 0, 1)
    with pytest.raises(CheckpointMoved):
        table.update(KEY, {"name": "B"}, "version", 2, 3)
    table.update(KEY, {"name": "C"}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "name": "C", "version": 2}


def test_two_sources_share_a_row_without_touching_each_other(table: View) -> None:
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


def test_none_removes_an_attribute(table: View) -> None:
    table.update(KEY, {"activeCategory": "kitchen", "name": "Mug"}, "version", 0, 1)
    table.update(KEY, {"activeCategory": None}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "version": 2}


def test_existing_needs_the_row_and_its_own_checkpoint(table: InMemoryView | DynamoDBView) -> None:
    with pytest.raises(NotFound, match="Product p-1 does not exist"):
        table.existing(KEY, "Product p-1")
    table.update(KEY, {"available": 5}, "stockVersion", 0, 1)  # stock projected before its product
    with pytest.raises(NotFound):
        table.existing(KEY, "Product p-1")
    table.update(KEY, {"name": "Mug"}, "version", 0, 1)
    assert table.existing(KEY, "Product p-1")["name"] == "Mug"


def _listed(table: InMemoryView | DynamoDBView, product_id: str, category: str, name: str) -> None:
    changes = {
        "name": name,
        "activeCategory": category,
        "activeListing": "ACTIVE",
        "nameKey": f"{name}#{product_id}",
    }
    table.update({"productId": product_id}, changes, "version", 0, 1)


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_walk_one_index_partition_in_sort_key_order(
    table: InMemoryView | DynamoDBView, newest_first: bool
) -> None:
    names = ["e", "a", "d", "b", "c"]
    for number, name in enumerate(names):
        _listed(table, f"p-{number}", "kitchen", name)
    _listed(table, "p-other", "garden", "aa")  # another partition: never in the pages
    table.update({"productId": "p-unlisted"}, {"name": "b2"}, "version", 0, 1)  # not in the index
    keys = ("productId", "activeCategory", "nameKey")
    seen: list[str] = []
    start = None
    pages = 0
    while True:
        page = table.page(
            index="ByCategory",
            partition=("activeCategory", "kitchen"),
            key_attributes=keys,
            limit=2,
            start=start,
            newest_first=newest_first,
        )
        pages += 1
        seen += [row["name"] for row in page.items]
        if page.next_position is None:
            break
        assert set(page.next_position) == set(keys)
        start = page.next_position
    assert seen == sorted(names, reverse=newest_first)
    assert pages == 3  # 2 + 2 + 1: the last page is known to be last, no empty page


def test_a_page_that_holds_everything_has_no_next_position(table: InMemoryView | DynamoDBView) -> None:
    _listed(table, "p-1", "kitchen", "a")
    _listed(table, "p-2", "kitchen", "b")
    page = table.page(
        index="ByName",
        partition=("activeListing", "ACTIVE"),
        key_attributes=("productId", "activeListing", "nameKey"),
        limit=2,
    )
    assert [row["name"] for row in page.items] == ["a", "b"]
    assert page.next_position is None

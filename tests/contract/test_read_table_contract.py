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


def test_several_attributes_change_and_go_in_one_update(table: ReadTable) -> None:
    table.update(KEY, {"a": 1, "b": 2, "c": 3, "d": 4}, "version", 0, 1)
    table.update(KEY, {"a": None, "b": 20, "c": None, "e": 5}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "b": 20, "d": 4, "e": 5, "version": 2}


def test_changes_cannot_overwrite_the_key_or_the_checkpoint(table: ReadTable) -> None:
    table.update(KEY, {"productId": "p-1", "version": 99, "name": "Mug", "stockVersion": 7}, "version", 0, 1)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "stockVersion": 7, "version": 1}


def test_dynamodb_rows_are_read_strongly_consistent(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    """The checkpoint read decides what to apply: an eventually consistent read would retry needlessly."""
    reads: list[dict[str, object]] = []

    class Recording:
        def __getattr__(self, name: str) -> object:
            return getattr(endpoint_dynamodb, name)

        def get_item(self, **request: object) -> object:
            reads.append(request)
            return endpoint_dynamodb.get_item(**request)

    table = DynamoDBReadTable(Recording(), create_table(endpoint_dynamodb, template, "ProductsView"))  # type: ignore[arg-type]
    table.update(KEY, {"name": "Mug"}, "version", 0, 1)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "version": 1}
    assert [read["ConsistentRead"] for read in reads] == [True]


def test_a_dynamodb_projector_reads_the_store_and_writes_the_view(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    from shop.catalog.projection import ProductsProjection  # noqa: PLC0415
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415
    from shop.eventstore.model import EventMetadata, NewEvent  # noqa: PLC0415
    from shop.projection.dynamodb import dynamodb_projection_engine  # noqa: PLC0415

    events = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    view = create_table(endpoint_dynamodb, template, "ProductsView")
    store = DynamoDBEventStore(endpoint_dynamodb, events)
    meta = EventMetadata("c", "c")
    store.append("stock-p-1", 0, [NewEvent("StockReceived", {"productId": "p-1", "quantity": 3})], meta)
    store.append("stock-p-1", 1, [NewEvent("StockReceived", {"productId": "p-1", "quantity": 4})], meta)
    engine = dynamodb_projection_engine(
        endpoint_dynamodb, ProductsProjection(), events_table=events, view_table=view
    )

    engine.project("stock-p-1", store.load("stock-p-1", after_version=1))  # a gap: filled from the store

    assert engine.projection.name == "ProductsView"
    assert DynamoDBReadTable(endpoint_dynamodb, view).get(KEY) == {
        "productId": "p-1",
        "available": 7,
        "stockVersion": 2,
    }


def test_rows_read_or_written_are_not_shared_with_the_caller(table: ReadTable) -> None:
    lines = {"items": [{"quantity": 1}]}
    table.update(KEY, {"lines": lines}, "version", 0, 1)
    lines["items"][0]["quantity"] = 2  # the caller changes what it wrote ...
    row = table.get(KEY)
    assert row is not None
    row["lines"]["items"][0]["quantity"] = 3  # ... and what it read
    assert table.get(KEY) == {"productId": "p-1", "lines": {"items": [{"quantity": 1}]}, "version": 1}

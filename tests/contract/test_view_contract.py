"""The read side's port: in memory and DynamoDB views behave the same, for queries and projectors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shop.errors import BadRequest, NotFound
from shop.views import CheckpointMoved, Move, View
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


def test_one_write_moves_both_checkpoints_of_a_row_and_both_are_its_condition(
    table: InMemoryView | DynamoDBView,
) -> None:
    both = {"version": Move(0, 2), "stockVersion": Move(0, 1)}
    table.update_many(KEY, {"name": "Mug", "available": 5}, both)
    assert table.get(KEY) == {
        "productId": "p-1",
        "name": "Mug",
        "version": 2,
        "available": 5,
        "stockVersion": 1,
    }

    stale = [
        {"version": Move(1, 3), "stockVersion": Move(1, 2)},  # version is 2: stale
        {"version": Move(2, 3), "stockVersion": Move(0, 2)},  # stockVersion exists: stale
        {"version": Move(2, 3), "stockVersion": Move(2, 3)},  # stockVersion is 1: stale
        {"version": Move(0, 3), "stockVersion": Move(1, 2)},  # version exists: stale
    ]
    for checkpoints in stale:
        with pytest.raises(CheckpointMoved):
            table.update_many(KEY, {"name": "Cup", "available": 4}, checkpoints)
    assert table.get(KEY) == {
        "productId": "p-1",
        "name": "Mug",
        "version": 2,
        "available": 5,
        "stockVersion": 1,
    }

    table.update_many(
        KEY,
        {"name": None, "available": 4, "stockVersion": 9},
        {"version": Move(2, 3), "stockVersion": Move(1, 2)},
    )
    assert table.get(KEY) == {"productId": "p-1", "version": 3, "available": 4, "stockVersion": 2}


def test_none_removes_an_attribute(table: View) -> None:
    table.update(KEY, {"activeCategory": "kitchen", "name": "Mug"}, "version", 0, 1)
    table.update(KEY, {"activeCategory": None}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "version": 2}


def test_several_attributes_change_and_go_in_one_update(table: InMemoryView | DynamoDBView) -> None:
    table.update(KEY, {"a": 1, "b": 2, "c": 3, "d": 4}, "version", 0, 1)
    table.update(KEY, {"a": None, "b": 20, "c": None, "e": 5}, "version", 1, 2)
    assert table.get(KEY) == {"productId": "p-1", "b": 20, "d": 4, "e": 5, "version": 2}


def test_changes_cannot_overwrite_the_key_or_the_checkpoint(table: InMemoryView | DynamoDBView) -> None:
    table.update(KEY, {"productId": "p-1", "version": 99, "name": "Mug", "stockVersion": 7}, "version", 0, 1)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "stockVersion": 7, "version": 1}


def test_projectors_read_strongly_consistent_and_queries_do_not(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    """The checkpoint read decides what to apply: an eventually consistent read would retry needlessly.
    Queries read eventually consistent: half the cost, and the read side is eventually consistent."""
    reads: list[dict[str, object]] = []

    class Recording:
        def __getattr__(self, name: str) -> object:
            return getattr(endpoint_dynamodb, name)

        def get_item(self, **request: object) -> object:
            reads.append(request)
            return endpoint_dynamodb.get_item(**request)

    name = create_table(endpoint_dynamodb, template, "ProductsView")
    table = DynamoDBView(Recording(), name, consistent=True)  # type: ignore[arg-type]
    table.update(KEY, {"name": "Mug"}, "version", 0, 1)
    assert table.get(KEY) == {"productId": "p-1", "name": "Mug", "version": 1}
    assert DynamoDBView(Recording(), name).get(KEY) == {"productId": "p-1", "name": "Mug", "version": 1}  # type: ignore[arg-type]
    assert [read["ConsistentRead"] for read in reads] == [True, False]


def test_a_dynamodb_projector_reads_the_store_and_writes_the_view(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.catalog.projection import ProductsProjection  # noqa: PLC0415
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415
    from shop.eventstore.model import EventMetadata, NewEvent  # noqa: PLC0415
    from shop.projection.dynamodb import dynamodb_projection_engine  # noqa: PLC0415

    events = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    view = create_table(endpoint_dynamodb, template, "ProductsView")
    store = DynamoDBEventStore(endpoint_dynamodb, events)
    meta = EventMetadata("c", "c", "someone")
    store.append("stock-p-1", 0, [NewEvent("StockReceived", {"productId": "p-1", "quantity": 3})], meta)
    store.append("stock-p-1", 1, [NewEvent("StockReceived", {"productId": "p-1", "quantity": 4})], meta)
    engine = dynamodb_projection_engine(
        ProductsProjection(),
        events_table=events,
        view_table=view,
        upcaster=catalog_events,
        client=endpoint_dynamodb,
    )

    engine.project("stock-p-1", store.load("stock-p-1", after_version=1))  # a gap: filled from the store

    assert engine.projection.name == "ProductsView"
    assert DynamoDBView(endpoint_dynamodb, view).get(KEY) == {
        "productId": "p-1",
        "available": 7,
        "stockVersion": 2,
    }


def test_a_batch_of_a_product_and_its_stock_reads_and_writes_the_row_once_on_dynamodb(  # type: ignore[no-untyped-def]
    endpoint_dynamodb, template
) -> None:
    from local.aws.functions import LambdaContext  # noqa: PLC0415
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.catalog.projection import ProductsProjection  # noqa: PLC0415
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415
    from shop.eventstore.model import NewEvent  # noqa: PLC0415
    from shop.projection.dynamodb import dynamodb_projection_engine  # noqa: PLC0415
    from shop.streams import projector_handler  # noqa: PLC0415
    from tests.support.histories import build_history, stream_record  # noqa: PLC0415

    calls: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> object:
            return getattr(endpoint_dynamodb, name)

        def get_item(self, **request: object) -> object:
            calls.append("GetItem")
            return endpoint_dynamodb.get_item(**request)

        def update_item(self, **request: object) -> object:
            calls.append("UpdateItem")
            return endpoint_dynamodb.update_item(**request)

    history = build_history([("create", 0, 1), ("receive", 0, 5), ("price", 0, 2), ("reserve", 0, 2)])
    events = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    view = create_table(endpoint_dynamodb, template, "ProductsView")
    store = DynamoDBEventStore(endpoint_dynamodb, events)
    for stream_id, commit in history.commits:
        again = [NewEvent(e.type, e.data, e.schema_version, e.event_id, e.occurred_at) for e in commit]
        store.append(stream_id, commit[0].version - 1, again, commit[0].metadata)
    engine = dynamodb_projection_engine(
        ProductsProjection(),
        events_table=events,
        view_table=view,
        upcaster=catalog_events,
        client=Recording(),  # type: ignore[arg-type]
    )
    records = [stream_record(commit, n) for n, commit in enumerate(history.commits)]
    handler = projector_handler(lambda: engine, source=catalog_events)

    assert handler({"Records": records}, LambdaContext("CatalogProjector")) == {"batchItemFailures": []}
    assert calls == ["GetItem", "UpdateItem"]  # four commits of two streams: one read, one write
    [row] = endpoint_dynamodb.scan(TableName=view)["Items"]
    assert (row["version"], row["stockVersion"], row["available"]) == ({"N": "2"}, {"N": "2"}, {"N": "3"})

    calls.clear()
    assert handler({"Records": records}, LambdaContext("CatalogProjector")) == {"batchItemFailures": []}
    assert calls == ["GetItem"]  # redelivered: read, nothing to write


def test_rows_read_or_written_are_not_shared_with_the_caller(table: InMemoryView | DynamoDBView) -> None:
    lines = {"items": [{"quantity": 1}]}
    table.update(KEY, {"lines": lines}, "version", 0, 1)
    lines["items"][0]["quantity"] = 2  # the caller changes what it wrote ...
    row = table.get(KEY)
    assert row is not None
    row["lines"]["items"][0]["quantity"] = 3  # ... and what it read
    assert table.get(KEY) == {"productId": "p-1", "lines": {"items": [{"quantity": 1}]}, "version": 1}


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


def test_adapters_named_by_table_use_the_execution_environments_client(  # type: ignore[no-untyped-def]
    endpoint_dynamodb, moto_endpoint, template, monkeypatch
) -> None:
    """What the wiring does: it names tables only, and the adapters take ``shop.ddb.client()``,
    built from the environment (here ``AWS_ENDPOINT_URL``) on first use and forgotten on reset."""
    from shop import ddb, runtime  # noqa: PLC0415
    from shop.catalog.events import catalog_events  # noqa: PLC0415
    from shop.catalog.projection import ProductsProjection  # noqa: PLC0415
    from shop.eventstore.dynamodb import DynamoDBEventStore  # noqa: PLC0415
    from shop.eventstore.model import EventMetadata, NewEvent  # noqa: PLC0415
    from shop.projection.dynamodb import dynamodb_projection_engine  # noqa: PLC0415

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    runtime.reset()
    try:
        events = create_table(endpoint_dynamodb, template, "CatalogEventStore")
        view = create_table(endpoint_dynamodb, template, "ProductsView")
        store = DynamoDBEventStore.for_table(events, catalog_events)
        store.append(
            "stock-p-1",
            0,
            [NewEvent("StockReceived", {"productId": "p-1", "quantity": 3})],
            EventMetadata("c", "c", "admin-sub"),
        )
        engine = dynamodb_projection_engine(
            ProductsProjection(), events_table=events, view_table=view, upcaster=catalog_events
        )
        engine.project("stock-p-1", store.load("stock-p-1"))

        assert store.table_name == events
        assert DynamoDBEventStore(endpoint_dynamodb, events).load("stock-p-1")[0].data["quantity"] == 3
        assert DynamoDBView.for_table(view).get(KEY) == {
            "productId": "p-1",
            "available": 3,
            "stockVersion": 1,
        }
        assert DynamoDBView.for_table(view).table_name == view
        assert DynamoDBView.for_table(view)._consistent is False
        assert DynamoDBView.for_table(view, consistent=True)._consistent is True
        assert ddb.client() is ddb.client()
    finally:
        runtime.reset()


@pytest.mark.parametrize(
    "start",
    [
        {},
        {"productId": "p-1", "nameKey": "a"},
        {"productId": "p-1", "activeCategory": "kitchen", "nameKey": "a", "sku": "X"},
        {"productId": 1, "activeCategory": "kitchen", "nameKey": "a"},
        {"productId": "p-1", "activeCategory": "kitchen", "nameKey": None},
        {"productId": "", "activeCategory": "kitchen", "nameKey": "a"},
        {"productId": "p-1", "activeCategory": "garden", "nameKey": "a"},
        {"productId": "p-1", "activeCategory": "kitchen", "nameKey": "é" * 513},
    ],
)
def test_a_start_no_page_could_have_returned_is_a_bad_request(
    table: InMemoryView | DynamoDBView, start: dict[str, object]
) -> None:
    """Positions come back in signed cursors: genuine, but not necessarily made by ``page``."""
    _listed(table, "p-1", "kitchen", "a")
    with pytest.raises(BadRequest, match="cursor is invalid"):
        table.page(
            index="ByCategory",
            partition=("activeCategory", "kitchen"),
            key_attributes=("productId", "activeCategory", "nameKey"),
            limit=2,
            start=start,
        )

"""Coalescing: the source streams of a batch that share a read row (a product and its stock) are
projected with one read and one conditional write, whose condition holds every checkpoint it moves.

Each stream's outcome stays the one it would have had alone: a stream that fails is left out of the
write, a write that fails falls back to one write per stream, and a writer that moved either
checkpoint since the read is caught by the condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.aws.functions import LambdaContext
from shop.catalog.events import catalog_events
from shop.catalog.projection import ProductsProjection
from shop.errors import DependencyUnavailable
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED
from shop.operations.parking import Failure, InMemoryParkingLot
from shop.operations.rebuild import CountingTable, Rebuild
from shop.projection.engine import Changes, GapNotFilled, ProjectionEngine, Row, Target
from shop.streams import projector_handler
from shop.views.memory import InMemoryView
from shop.views.port import Checkpoints, Move
from tests.support.histories import build_history, stream_record
from tests.unit.test_rebuild import ListScan, items_of

META = EventMetadata("corr", "cause", "someone")
KEY = {"id": "1"}


class TwoStreams:
    """Row ``<id>`` takes ``thing-<id>`` (checkpoint ``version``, list ``applied``) and ``stuff-<id>``
    (checkpoint ``stuffVersion``, list ``stuffApplied``): a version applied twice, skipped or out of
    order shows in the row. Events of streams in ``failing`` cannot be applied."""

    name = "TwoStreams"

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing if failing is not None else set()
        self.attributes = {"thing": ("version", "applied"), "stuff": ("stuffVersion", "stuffApplied")}

    def target(self, stream_id: str) -> Target | None:
        prefix, _, ident = stream_id.partition("-")
        if prefix not in self.attributes:
            return None
        return Target({"id": ident}, self.attributes[prefix][0])

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        if event.stream_id in self.failing:
            raise RuntimeError(f"cannot project {event.stream_id}")
        attribute = self.attributes[event.stream_id.partition("-")[0]][1]
        return {attribute: [*row.get(attribute, []), event.version]}


class Recording(InMemoryView):
    """Counts reads and writes (a write is one ``update`` or ``update_many``); ``before_write`` runs
    before each write (a competitor getting in between our read and our write); ``refuse`` makes the
    writes of more than one checkpoint fail with it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.writes: list[tuple[str, ...]] = []
        self.before_write: Callable[[], None] = lambda: None
        self.refuse: Exception | None = None
        self._in_write = False

    def get(self, key: Mapping[str, str]) -> Row | None:
        self.reads += 1
        return super().get(key)

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        if self._in_write:  # ``update`` is ``update_many`` of one checkpoint: counted once
            super().update_many(key, changes, checkpoints)
            return
        self.writes.append(tuple(checkpoints))
        hook, self.before_write = self.before_write, lambda: None
        hook()
        if self.refuse is not None and len(checkpoints) > 1:
            raise self.refuse
        super().update_many(key, changes, checkpoints)

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        self.writes.append((checkpoint,))
        hook, self.before_write = self.before_write, lambda: None
        hook()
        self._in_write = True
        try:
            super().update(key, changes, checkpoint, expected, new)
        finally:
            self._in_write = False


def commit(store: InMemoryEventStore, stream_id: str, count: int = 1) -> tuple[RecordedEvent, ...]:
    version = len(store.load(stream_id))
    store.append(stream_id, version, [NewEvent("Happened", {}) for _ in range(count)], META)
    return store.commits[-1][1]


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def table() -> Recording:
    return Recording()


def test_two_streams_of_one_row_are_read_once_and_written_once(store, table) -> None:
    things = [*commit(store, "thing-1"), *commit(store, "thing-1", 2)]
    stuff = [*commit(store, "stuff-1")]
    engine = ProjectionEngine(TwoStreams(), table, store)

    outcomes = engine.project_together({"thing-1": things, "stuff-1": stuff})

    assert outcomes == {"thing-1": None, "stuff-1": None}
    assert (table.reads, table.writes) == (1, [("version", "stuffVersion")])
    assert table.get(KEY) == {
        "id": "1",
        "applied": [1, 2, 3],
        "version": 3,
        "stuffApplied": [1],
        "stuffVersion": 1,
    }


def test_streams_of_different_rows_and_streams_the_projection_ignores_are_written_apart(store, table) -> None:
    delivered = {
        "thing-1": commit(store, "thing-1"),
        "thing-2": commit(store, "thing-2"),
        "other-1": commit(store, "other-1"),
        "stuff-2": (),
    }
    outcomes = ProjectionEngine(TwoStreams(), table, store).project_together(delivered)

    assert outcomes == dict.fromkeys(delivered)
    assert table.writes == [("version",), ("version",)]
    assert len(table.rows) == 2


def test_duplicates_and_replays_of_both_streams_write_nothing(store, table) -> None:
    things, stuff = commit(store, "thing-1", 2), commit(store, "stuff-1")
    engine = ProjectionEngine(TwoStreams(), table, store)
    engine.project_together({"thing-1": things, "stuff-1": stuff})
    before = table.get(KEY)
    table.writes.clear()

    engine.project_together({"stuff-1": [*stuff, *stuff], "thing-1": [*things[1:], *things]})
    engine.project_together({"thing-1": things[:1], "stuff-1": stuff})

    assert table.writes == []
    assert table.get(KEY) == before


def test_only_the_stream_with_news_moves_its_checkpoint(store, table) -> None:
    things, stuff = commit(store, "thing-1"), commit(store, "stuff-1")
    engine = ProjectionEngine(TwoStreams(), table, store)
    engine.project_together({"thing-1": things, "stuff-1": stuff})
    more_stuff = commit(store, "stuff-1")
    table.writes.clear()

    engine.project_together({"thing-1": things, "stuff-1": more_stuff})

    assert table.writes == [("stuffVersion",)]
    assert table.get(KEY) == {
        "id": "1",
        "applied": [1],
        "version": 1,
        "stuffApplied": [1, 2],
        "stuffVersion": 2,
    }


@pytest.mark.parametrize("moved", ["thing-1", "stuff-1"])
def test_a_writer_that_moved_either_checkpoint_since_the_read_is_caught_and_nothing_is_applied_twice(
    store, table, moved: str
) -> None:
    """Between our read and our write a competitor (another shard's invocation, a rebuild) applies
    version 1 of one stream: the write's condition on *that* checkpoint fails, and each stream is
    then projected on its own from the row as it stands."""
    things, stuff = commit(store, "thing-1", 2), commit(store, "stuff-1", 2)
    competitor = ProjectionEngine(TwoStreams(), InMemoryViewOf(table), store)
    table.before_write = lambda: competitor.project(moved, store.load(moved)[:1])
    engine = ProjectionEngine(TwoStreams(), table, store)

    outcomes = engine.project_together({"thing-1": things, "stuff-1": stuff})

    assert outcomes == {"thing-1": None, "stuff-1": None}
    assert table.get(KEY) == {
        "id": "1",
        "applied": [1, 2],
        "version": 2,
        "stuffApplied": [1, 2],
        "stuffVersion": 2,
    }
    # The combined write lost; then one write per stream (each from a fresh read).
    assert table.writes == [("version", "stuffVersion"), ("version",), ("stuffVersion",)]


class InMemoryViewOf:
    """The rows of ``table``, written without its recording (a competitor's view of the same table)."""

    def __init__(self, table: InMemoryView) -> None:
        self._table = table

    def get(self, key: Mapping[str, str]) -> Row | None:
        return InMemoryView.get(self._table, key)

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        InMemoryView.update_many(self._table, key, changes, {checkpoint: Move(expected, new)})

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        InMemoryView.update_many(self._table, key, changes, checkpoints)


def test_a_stream_that_cannot_be_applied_is_left_out_of_the_write_and_fails_alone(store, table) -> None:
    things, stuff = commit(store, "thing-1"), commit(store, "stuff-1")
    engine = ProjectionEngine(TwoStreams(failing={"thing-1"}), table, store)

    outcomes = engine.project_together({"thing-1": things, "stuff-1": stuff})

    assert isinstance(outcomes["thing-1"], RuntimeError)
    assert outcomes["stuff-1"] is None
    assert table.writes == [("stuffVersion",)]
    assert table.get(KEY) == {"id": "1", "stuffApplied": [1], "stuffVersion": 1}


def test_a_gap_the_store_cannot_fill_fails_its_stream_alone(table) -> None:
    elsewhere = InMemoryEventStore()
    commit(elsewhere, "thing-1")
    late = commit(elsewhere, "thing-1")  # version 2; this engine's store lacks version 1
    store = InMemoryEventStore()
    stuff = commit(store, "stuff-1")
    engine = ProjectionEngine(TwoStreams(), table, store)

    outcomes = engine.project_together({"thing-1": late, "stuff-1": stuff})

    assert isinstance(outcomes["thing-1"], GapNotFilled)
    assert outcomes["stuff-1"] is None
    assert table.get(KEY) == {"id": "1", "stuffApplied": [1], "stuffVersion": 1}


def test_a_refused_combined_write_falls_back_to_one_write_per_stream(store, table) -> None:
    table.refuse = RuntimeError("ValidationException")
    things, stuff = commit(store, "thing-1"), commit(store, "stuff-1")

    outcomes = ProjectionEngine(TwoStreams(), table, store).project_together(
        {"thing-1": things, "stuff-1": stuff}
    )

    assert outcomes == {"thing-1": None, "stuff-1": None}
    assert table.writes == [("version", "stuffVersion"), ("version",), ("stuffVersion",)]
    assert table.get(KEY) == {"id": "1", "applied": [1], "version": 1, "stuffApplied": [1], "stuffVersion": 1}


def test_an_unreachable_table_fails_every_stream_of_the_write_without_trying_each(store, table) -> None:
    table.refuse = DependencyUnavailable("DynamoDB", "it did not answer")
    things, stuff = commit(store, "thing-1"), commit(store, "stuff-1")

    outcomes = ProjectionEngine(TwoStreams(), table, store).project_together(
        {"thing-1": things, "stuff-1": stuff}
    )

    assert all(isinstance(outcomes[s], DependencyUnavailable) for s in ("thing-1", "stuff-1"))
    assert table.writes == [("version", "stuffVersion")]
    assert table.rows == {}


def two_stream_records(store: InMemoryEventStore, *streams: str) -> list[dict[str, Any]]:
    """One commit on each of ``streams``, in order, as stream records."""
    records = []
    for stream_id in streams:
        commit(store, stream_id)
        records.append(stream_record(store.commits[-1], len(records) + 1))
    return records


def test_a_parked_stream_of_the_row_is_parked_behind_and_the_other_written_alone(store, table) -> None:
    lot = InMemoryParkingLot("TwoStreams", now=lambda: "2030-01-01T00:00:00.000000Z")
    thing, stuff, thing2 = two_stream_records(store, "thing-1", "stuff-1", "thing-1")
    lot.park("stuff-1", [stuff], Failure("Poison: stuff-1 v1", "2030-01-01T00:00:00.000000Z", "x", 1))
    commit(store, "stuff-1")  # version 2, delivered behind the parked version 1
    more_stuff = stream_record(store.commits[-1], 9)
    handler = projector_handler(
        lambda: ProjectionEngine(TwoStreams(), table, store), lambda: lot, source=AS_STORED
    )

    response = handler({"Records": [thing, more_stuff, thing2]}, LambdaContext("TwoStreams"))

    assert response == {"batchItemFailures": []}
    assert [r.version for r in lot.stream("stuff-1").records] == [1, 2]  # type: ignore[union-attr]
    assert table.writes == [("version",)]
    assert table.get(KEY) == {"id": "1", "applied": [1, 2], "version": 2}


def test_a_stream_that_fails_in_the_batch_fails_its_records_only_and_its_row_mate_is_written(
    store, table
) -> None:
    thing, stuff, thing2, stuff2 = two_stream_records(store, "thing-1", "stuff-1", "thing-1", "stuff-1")
    handler = projector_handler(
        lambda: ProjectionEngine(TwoStreams(failing={"stuff-1"}), table, store), source=AS_STORED
    )

    response = handler({"Records": [thing, stuff, thing2, stuff2]}, LambdaContext("TwoStreams"))

    failed = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
    assert failed == [stuff["dynamodb"]["SequenceNumber"], stuff2["dynamodb"]["SequenceNumber"]]
    assert table.writes == [("version",)]
    assert table.get(KEY) == {"id": "1", "applied": [1, 2], "version": 2}


# --- through the projector handler: ProductsView, the row of a product and its stock -------------


def catalog_batch(ops: list[tuple[str, int, int]]) -> tuple[InMemoryEventStore, list[dict[str, Any]]]:
    store = build_history(ops)
    return store, [stream_record(commit, n) for n, commit in enumerate(store.commits)]


def deliver(handler: Any, records: Sequence[dict[str, Any]]) -> list[str]:
    response = handler({"Records": list(records)}, LambdaContext("CatalogProjector"))
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def replayed(store: InMemoryEventStore, upto: Mapping[str, Any] | None = None) -> Any:
    """The rows of one in-order pass, commit by commit, each its own write; with ``upto`` (a row),
    that row alone, replayed only up to the versions its checkpoints name."""
    table = InMemoryView()
    projection = ProductsProjection()
    engine = ProjectionEngine(projection, table, store)
    for stream_id, commit in store.commits:
        target = projection.target(stream_id)
        events = commit
        if upto is not None:
            if target is None or dict(target.key) != {"productId": upto["productId"]}:
                continue
            events = tuple(e for e in commit if e.version <= upto.get(target.checkpoint, 0))
        engine.project(stream_id, events)
    if upto is not None:
        return table.get({"productId": upto["productId"]})
    return table.rows


def test_a_batch_with_a_product_and_its_stock_makes_one_write_to_the_products_view_row() -> None:
    store, records = catalog_batch(
        [("create", 0, 1), ("receive", 0, 5), ("price", 0, 2), ("reserve", 0, 2), ("price", 0, 3)]
    )
    assert {r["dynamodb"]["Keys"]["streamId"]["S"].split("-")[0] for r in records} == {"product", "stock"}
    table = Recording()
    handler = projector_handler(
        lambda: ProjectionEngine(ProductsProjection(), table, store), source=catalog_events
    )

    assert deliver(handler, records) == []

    assert (table.reads, table.writes) == (1, [("version", "stockVersion")])
    assert table.rows == replayed(store)
    [row] = table.rows.values()
    assert (row["version"], row["stockVersion"], row["available"]) == (3, 2, 3)

    table.writes.clear()
    assert deliver(handler, records[::-1]) == []  # the whole batch again, backwards: a no-op
    assert table.writes == []
    assert table.rows == replayed(store)


def test_a_failing_product_stream_fails_its_own_records_and_its_stock_is_still_written() -> None:
    store, records = catalog_batch([("create", 0, 1), ("receive", 0, 5), ("price", 0, 2)])
    table = Recording()
    handler = projector_handler(
        lambda: ProjectionEngine(ProductsProjection(), table, store), source=catalog_events
    )
    product = [r for r in records if r["dynamodb"]["Keys"]["streamId"]["S"].startswith("product-")]
    product[-1]["dynamodb"]["NewImage"]["events"] = {"S": "not JSON"}  # the second product commit

    failed = deliver(handler, records)

    assert failed == [r["dynamodb"]["SequenceNumber"] for r in product]
    [row] = table.rows.values()
    assert "version" not in row
    assert (row["stockVersion"], row["available"]) == (1, 5)


# --- properties -------------------------------------------------------------------------------------


#: Two products created first, then what changes them and their stock: both streams of a row busy.
busy_products = st.lists(
    st.tuples(
        st.sampled_from(["price", "rename", "receive", "reserve", "release", "receive_twice", "discontinue"]),
        st.integers(0, 1),
        st.integers(1, 5),
    ),
    min_size=2,
    max_size=14,
).map(lambda ops: [("create", 0, 1), ("create", 1, 1), *ops])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=busy_products, data=st.data())
def test_batches_racing_another_writer_on_either_stream_end_in_the_rows_of_a_replay(ops, data) -> None:
    """Any batches (duplicates, reordering, missing commits) of products' two streams, while another
    writer (an invocation on another shard, a rebuild) projects arbitrary commits of either stream
    between a batch's reads and its writes. After every batch each row is the in-order replay of
    exactly the versions its checkpoints name, and no checkpoint ever went back: the combined
    write's condition caught every checkpoint the other writer moved. The rows end as a replay's."""
    store, records = catalog_batch(ops)
    if not records:
        return
    table = Recording()
    handler = projector_handler(
        lambda: ProjectionEngine(ProductsProjection(), table, store), source=catalog_events
    )
    competitor = ProjectionEngine(ProductsProjection(), InMemoryViewOf(table), store)
    indexes = st.integers(0, len(records) - 1)
    seen: dict[tuple[Any, str], int] = {}

    def check() -> None:
        for key, row in table.rows.items():
            assert row == replayed(store, upto=row), "a row is not the replay of what its checkpoints say"
            for checkpoint in ("version", "stockVersion"):
                assert row.get(checkpoint, 0) >= seen.get((key, checkpoint), 0), f"{checkpoint} went back"
                seen[key, checkpoint] = row.get(checkpoint, 0)

    for _ in range(data.draw(st.integers(0, 5))):
        batch = [records[i] for i in data.draw(st.lists(indexes, max_size=10))]
        plan = data.draw(st.lists(st.lists(indexes, min_size=1, max_size=3), max_size=6))  # per write

        def race(plan: list[list[int]] = plan) -> None:
            for index in plan.pop(0) if plan else []:
                stream_id, events = store.commits[index]
                competitor.project(stream_id, events)
                check()
            table.before_write = race

        table.before_write = race
        if batch:
            assert deliver(handler, batch) == []
        check()
    table.before_write = lambda: None
    for start in range(0, len(records), 5):
        assert deliver(handler, records[start : start + 5]) == []

    assert table.rows == replayed(store)


def test_a_rebuild_writes_a_page_s_product_and_stock_of_one_row_once() -> None:
    store = build_history([("create", 0, 1), ("receive", 0, 5), ("price", 0, 2), ("create", 1, 1)])
    view = InMemoryView()
    table = CountingTable(view)
    engine = ProjectionEngine(ProductsProjection(), table, store)
    scan = ListScan(items_of(store), page_size=10)

    outcome = Rebuild(engine, scan, upcaster=catalog_events, total_segments=1).run()

    assert outcome.ok
    # Three streams in one page: product 0 and its stock share a row (one write), product 1 its own.
    assert (outcome.streams, outcome.events, table.writes) == (3, 4, 2)
    assert view.rows == replayed(store)

"""Property: any at-least-once delivery of a valid history yields the rows of one in-order pass.

Deliveries are generated freely: commits duplicated, reordered across batches, missing (the
engine must fill gaps from the event store), whole batches replayed, and writes that crash
midway through a batch, after which the batch is retried as Lambda would.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.aws.functions import LambdaContext
from shop.catalog.events import catalog_events
from shop.catalog.projection import ProductsProjection
from shop.projection.engine import ProjectionEngine
from shop.streams import projector_handler
from shop.views.memory import InMemoryView
from tests.support.histories import build_history, operations, stream_record


class Crash(Exception):
    pass


class CrashingTable(InMemoryView):
    """Fails the n-th write from now (0 = never), like a Lambda timing out mid-batch; a write is one
    ``update_many`` (a product and its stock together), which ``update`` (one stream) is too."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_in = 0

    def update_many(self, *args: Any, **kwargs: Any) -> None:
        if self.crash_in:
            self.crash_in -= 1
            if self.crash_in == 0:
                raise Crash
        super().update_many(*args, **kwargs)


def deliver(handler: Any, records: list[dict[str, Any]]) -> bool:
    """Invoke like Lambda; True if every record succeeded."""
    try:
        response = handler({"Records": records}, LambdaContext("CatalogProjector"))
    except Exception:
        return False
    return not response["batchItemFailures"]


def in_order_rows(store: Any) -> dict[Any, Any]:
    table = InMemoryView()
    engine = ProjectionEngine(ProductsProjection(), table, store)
    for stream_id, events in store.commits:
        engine.project(stream_id, events)
    return table.rows


schedules = st.lists(
    st.tuples(
        st.lists(st.integers(0, 10_000), max_size=12),  # commits in the batch (indexes mod history)
        st.integers(0, 4),  # crash after this many updates (0 = no crash)
        st.booleans(),  # replay the whole batch once more afterwards
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, schedule=schedules, data=st.data())
def test_any_delivery_converges_to_the_in_order_rows(ops, schedule, data) -> None:
    store = build_history(ops)
    commits = store.commits
    if not commits:
        return
    records = [stream_record(commit, n) for n, commit in enumerate(commits)]
    table = CrashingTable()
    engine = ProjectionEngine(ProductsProjection(), table, store)
    handler = projector_handler(lambda: engine, source=catalog_events)

    for picks, crash_after, replay in schedule:
        batch = [records[i % len(records)] for i in picks]
        if not batch:
            continue
        table.crash_in = crash_after
        if not deliver(handler, batch):
            table.crash_in = 0
            assert deliver(handler, batch), "a retry without crashes must succeed"
        if replay:
            assert deliver(handler, batch)
    # Eventually every commit is delivered at least once more, in some order.
    table.crash_in = 0
    tail = data.draw(st.permutations(records))
    for start in range(0, len(tail), 7):
        assert deliver(handler, tail[start : start + 7])

    assert table.rows == in_order_rows(store)


def test_rows_record_the_versions_applied_per_source_stream() -> None:
    store = build_history([("create", 0, 1), ("receive", 0, 3), ("price", 0, 2), ("reserve", 0, 2)])
    rows = list(in_order_rows(store).values())
    assert len(rows) == 1
    assert rows[0]["version"] == 2
    assert rows[0]["stockVersion"] == 2
    assert rows[0]["available"] == 1


def test_a_batch_near_its_timeout_leaves_the_rest_of_its_records_for_redelivery() -> None:
    store = build_history([("create", 0, 1), ("create", 1, 1), ("create", 2, 1)])
    records = [stream_record(commit, n) for n, commit in enumerate(store.commits)]
    table = InMemoryView()
    handler = projector_handler(
        lambda: ProjectionEngine(ProductsProjection(), table, store), source=catalog_events
    )

    class Clock(LambdaContext):
        calls = 0

        def get_remaining_time_in_millis(self) -> int:
            self.calls += 1
            return 30_000 if self.calls <= 2 else 1_000  # plenty at first, then nearly out of time

    response = handler({"Records": records}, Clock("CatalogProjector", timeout_seconds=30))

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["dynamodb"]["SequenceNumber"] for r in records[1:]
    ]
    assert len(table.rows) == 1

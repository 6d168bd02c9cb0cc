"""Rebuild (``shop.operations.rebuild``): the event store's commits, page by page and segment by
segment, through the projection engine and its checkpoints, with a live projector racing it.

The projection records every version it applies, in order, per row: a version applied twice,
skipped or out of order shows in the row itself.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from shop.cart.events import cart_events
from shop.cart.projection import CartsProjection
from shop.errors import UnreadableEvent
from shop.eventstore.codec import Item, encode_commit
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED
from shop.operations.lag import projection_lag, row_key
from shop.operations.rebuild import (
    CountingTable,
    Key,
    MemoryPositions,
    SegmentPosition,
    commits_by_stream,
)
from shop.operations.rebuild import Rebuild as UpcastingRebuild
from shop.projection.engine import Changes, ProjectionEngine, Row, Target
from shop.views.memory import InMemoryView
from shop.views.port import CheckpointMoved

META = EventMetadata("corr", "cause", "someone")
#: The histories below are of made-up events, which no registry upcasts.
Rebuild = partial(UpcastingRebuild, upcaster=AS_STORED)


class AppliedVersions:
    """Row ``thing-<id>`` lists the versions applied; ``other-<id>`` streams are not this view's."""

    name = "AppliedVersions"

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing if failing is not None else set()

    def target(self, stream_id: str) -> Target | None:
        prefix, _, ident = stream_id.partition("-")
        return Target({"id": ident}, "version") if prefix == "thing" else None

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        if event.stream_id in self.failing:
            raise RuntimeError(f"cannot project {event.stream_id}")
        return {"applied": [*row.get("applied", []), event.version]}


def history(streams: int, commits: int = 3, events_per_commit: int = 2) -> InMemoryEventStore:
    store = InMemoryEventStore()
    for number in range(streams):
        version = 0
        for _ in range(commits):
            batch = [NewEvent("Happened", {"n": number}) for _ in range(events_per_commit)]
            version = store.append(f"thing-{number}", version, batch, META)
    store.append("other-1", 0, [NewEvent("Ignored", {})], META)
    return store


def items_of(store: InMemoryEventStore) -> list[dict[str, Any]]:
    """The store as DynamoDB holds it: one item per commit."""
    return [
        encode_commit(
            stream_id,
            events[0].version - 1,
            [NewEvent(e.type, e.data, e.schema_version, e.event_id, e.occurred_at) for e in events],
            events[0].metadata,
        )
        for stream_id, events in store.commits
    ]


class ListScan:
    """A parallel scan over items: a stream's items in one segment (by its hash), in version order,
    in pages of ``page_size`` items; positions are the last item's key, as ``LastEvaluatedKey``."""

    def __init__(self, items: list[dict[str, Any]], page_size: int = 4) -> None:
        self.items = sorted(items, key=lambda i: (i["streamId"]["S"], int(i["version"]["N"])))
        self.page_size = page_size
        self.pages_read = 0

    def pages(self, segment: int, total: int, start: Key | None) -> Iterator[tuple[list[Item], Key | None]]:
        mine = [i for i in self.items if zlib.crc32(i["streamId"]["S"].encode()) % total == segment]
        keys = [{"streamId": i["streamId"], "version": i["version"]} for i in mine]
        position = keys.index(start) + 1 if start is not None else 0
        while True:
            page = mine[position : position + self.page_size]
            position += len(page)
            self.pages_read += 1
            more = position < len(mine)
            yield page, keys[position - 1] if more else None
            if not more:
                return


def replayed(store: InMemoryEventStore) -> dict[Any, Row]:
    view = InMemoryView()
    engine = ProjectionEngine(AppliedVersions(), view, store)
    for stream_id, events in commits_by_stream(items_of(store))[0].items():
        engine.project(stream_id, events)
    return view.rows


def test_a_rebuild_into_an_empty_table_gives_every_row_its_replay() -> None:
    store = history(streams=7)
    view = InMemoryView()
    outcome = Rebuild(
        ProjectionEngine(AppliedVersions(), view, store), ListScan(items_of(store)), total_segments=3
    ).run()
    assert outcome.ok
    assert view.rows == replayed(store)
    assert all(row["applied"] == [1, 2, 3, 4, 5, 6] and row["version"] == 6 for row in view.rows.values())
    assert (outcome.commits, outcome.events) == (7 * 3 + 1, 7 * 6 + 1)


def test_in_place_it_applies_only_what_rows_lack_and_never_a_version_twice() -> None:
    store = history(streams=4)
    view = InMemoryView()
    live = ProjectionEngine(AppliedVersions(), view, store)
    live.project("thing-0", store.load("thing-0"))  # complete
    live.project("thing-1", store.load("thing-1")[:2])  # its first commit only
    table = CountingTable(view)
    scan = ListScan(items_of(store), page_size=100)  # one page: one write per stream that lacks versions
    outcome = Rebuild(ProjectionEngine(AppliedVersions(), table, store), scan, total_segments=1).run()
    assert outcome.ok
    assert view.rows == replayed(store)
    assert table.writes == 3  # thing-1 (the rest), thing-2, thing-3; thing-0 untouched


class LiveProjectorWinsFirst:
    """A read table where, just before the rebuild's first write to a row, the live projector
    applies the stream's delivered records (some or all of what the rebuild is about to write)."""

    def __init__(
        self, view: InMemoryView, live: ProjectionEngine, store: InMemoryEventStore, upto: int
    ) -> None:
        self.view, self.live, self.store, self.upto = view, live, store, upto
        self.raced: set[str] = set()

    def get(self, key: Mapping[str, str]) -> Row | None:
        return self.view.get(key)

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        stream_id = f"thing-{key['id']}"
        if stream_id not in self.raced:
            self.raced.add(stream_id)
            self.live.project(stream_id, [e for e in self.store.load(stream_id) if e.version <= self.upto])
        self.view.update(key, changes, checkpoint, expected, new)


@pytest.mark.parametrize("live_upto", [2, 6])
def test_a_row_the_live_projector_writes_meanwhile_ends_with_every_version_once(live_upto: int) -> None:
    store = history(streams=3)
    view = InMemoryView()
    live = ProjectionEngine(AppliedVersions(), view, store)
    racing = LiveProjectorWinsFirst(view, live, store, upto=live_upto)
    outcome = Rebuild(ProjectionEngine(AppliedVersions(), racing, store), ListScan(items_of(store))).run()
    assert outcome.ok
    assert racing.raced == {"thing-0", "thing-1", "thing-2"}
    assert view.rows == replayed(store)


def test_a_failing_stream_fails_alone_and_a_second_run_after_the_fix_completes_it() -> None:
    store = history(streams=6)
    view = InMemoryView()
    failing = {"thing-4"}
    scan = ListScan(items_of(store), page_size=2)  # thing-4's commits span pages: reported once
    first = Rebuild(ProjectionEngine(AppliedVersions(failing), view, store), scan, total_segments=2).run()
    assert [f.stream_id for f in first.failures] == ["thing-4"]
    assert "cannot project thing-4" in first.failures[0].error
    others = {key: row for key, row in replayed(store).items() if dict(key)["id"] != "4"}
    assert view.rows == others  # every other stream was rebuilt

    failing.clear()  # the cause is fixed
    table = CountingTable(view)
    second = Rebuild(ProjectionEngine(AppliedVersions(failing), table, store), scan, total_segments=2).run()
    assert second.ok
    assert view.rows == replayed(store)
    assert table.writes == 2  # thing-4 alone, once per page its 3 commits span (pages of 2)


def test_a_commit_that_does_not_decode_fails_its_stream_only() -> None:
    store = history(streams=3)
    items = items_of(store)
    poison = {**items[0], "events": {"S": "this is not JSON"}}  # thing-0's first commit
    view = InMemoryView()
    outcome = Rebuild(ProjectionEngine(AppliedVersions(), view, store), ListScan([poison, *items[1:]])).run()
    assert [(f.stream_id, f.error.split(":")[0]) for f in outcome.failures] == [
        ("thing-0", "JSONDecodeError")
    ]
    assert {dict(key)["id"] for key in view.rows} == {"1", "2"}


def test_a_scan_that_fails_stops_its_segment_and_a_resumed_run_goes_on_from_the_saved_page() -> None:
    store = history(streams=6)
    view = InMemoryView()
    positions = MemoryPositions()

    class BrokenAfterTwoPages(ListScan):
        broken = True

        def pages(
            self, segment: int, total: int, start: Key | None
        ) -> Iterator[tuple[list[Item], Key | None]]:
            for number, page in enumerate(super().pages(segment, total, start)):
                if self.broken and number == 2:
                    raise ConnectionError("the endpoint went away")
                yield page

    scan = BrokenAfterTwoPages(items_of(store), page_size=2)
    first = Rebuild(
        ProjectionEngine(AppliedVersions(), view, store), scan, positions=positions, total_segments=1
    ).run()
    assert [(f.stream_id, f.error) for f in first.failures] == [
        ("", "ConnectionError: the endpoint went away")
    ]
    assert first.commits == 4
    scan.broken = False
    second = Rebuild(
        ProjectionEngine(AppliedVersions(), view, store), scan, positions=positions, total_segments=1
    ).run()
    assert second.ok
    assert second.commits == len(scan.items) - 4  # it went on after the two saved pages
    assert view.rows == replayed(store)


def test_stop_ends_each_segment_after_its_page_and_resume_finishes() -> None:
    store = history(streams=6)
    view = InMemoryView()
    positions = MemoryPositions()
    scan = ListScan(items_of(store), page_size=2)
    rebuild = Rebuild(
        ProjectionEngine(AppliedVersions(), view, store), scan, positions=positions, total_segments=1
    )
    rebuild._on_page = lambda page: rebuild.stop()  # Ctrl-C during the first page
    first = rebuild.run()
    assert (first.interrupted, first.commits) == (True, 2)
    second = Rebuild(
        ProjectionEngine(AppliedVersions(), view, store), scan, positions=positions, total_segments=1
    ).run()
    assert (second.interrupted, second.ok) == (False, True)
    assert view.rows == replayed(store)


def test_a_run_whose_segments_are_all_done_reads_nothing() -> None:
    store = history(streams=2)
    positions = MemoryPositions()
    positions.save(0, SegmentPosition(done=True))
    scan = ListScan(items_of(store))
    outcome = Rebuild(
        ProjectionEngine(AppliedVersions(), InMemoryView(), store),
        scan,
        total_segments=1,
        positions=positions,
    ).run()
    assert (outcome.ok, outcome.events, scan.pages_read) == (True, 0, 0)


def test_items_that_are_not_commits_are_not_replayed() -> None:
    store = history(streams=1)
    beside = {"streamId": {"S": "thing-0"}, "version": {"N": "0"}, "state": {"S": "{}"}}
    streams, commits = commits_by_stream([beside, *items_of(store)])
    assert commits == 4
    assert [e.version for e in streams["thing-0"]] == [1, 2, 3, 4, 5, 6]


def test_conflicts_that_never_settle_are_reported_not_hidden() -> None:
    store = history(streams=1)

    class AlwaysMoved(InMemoryView):
        def update(self, *args: Any, **kwargs: Any) -> None:
            raise CheckpointMoved("someone else, again")

    outcome = Rebuild(
        ProjectionEngine(AppliedVersions(), AlwaysMoved(), store), ListScan(items_of(store))
    ).run()
    assert [f.stream_id for f in outcome.failures] == ["thing-0"]
    assert outcome.failures[0].error.startswith("CheckpointMoved")


def test_lag_counts_streams_and_events_the_rows_have_not_applied() -> None:
    store = history(streams=3)
    view = InMemoryView()
    live = ProjectionEngine(AppliedVersions(), view, store)
    live.project("thing-0", store.load("thing-0"))
    live.project("thing-1", store.load("thing-1")[:4])
    streams, _ = commits_by_stream(items_of(store))
    rows = {row_key({"id": str(row["id"])}): row for row in view.rows.values()}
    lag = projection_lag(AppliedVersions(), streams, rows)
    assert (lag.streams, lag.events, lag.streams_behind, lag.events_behind) == (3, 18, 2, 2 + 6)
    assert lag.examples == (("thing-2", 0, 6), ("thing-1", 4, 6))
    assert lag.oldest_pending == store.load("thing-1")[4].occurred_at


def test_a_rebuild_reads_old_event_versions_through_the_owning_service_s_upcasters() -> None:
    """A cart stored by the v1 code (``CartItemAdded.quantity``) rebuilds as the live projector
    projects it; read as stored, the same history is refused, never misread."""
    examples = Path(__file__).parents[1] / "contract" / "event_examples"
    created, added = (
        json.loads((examples / f"{t}/v1.json").read_text()) for t in ("CartCreated", "CartItemAdded")
    )
    cart_id = created["data"]["cartId"]
    store = InMemoryEventStore(upcaster=cart_events)
    store.append(
        f"cart-{cart_id}",
        0,
        [NewEvent(e["type"], e["data"], e["schemaVersion"]) for e in (created, added)],
        META,
    )

    view = InMemoryView()
    engine = ProjectionEngine(CartsProjection(), view, store)
    outcome = UpcastingRebuild(engine, ListScan(items_of(store)), upcaster=cart_events).run()
    assert outcome.ok, outcome.failures
    [row] = view.rows.values()
    assert [(line["productId"], line["quantity"]) for line in row["items"]] == [
        (added["data"]["productId"], added["data"]["quantity"])
    ]

    as_stored = UpcastingRebuild(
        ProjectionEngine(CartsProjection(), InMemoryView(), store),
        ListScan(items_of(store)),
        upcaster=AS_STORED,
    ).run()
    assert not as_stored.ok


def test_lag_and_rebuild_name_a_stream_of_an_unknown_version_as_undecodable() -> None:
    store = InMemoryEventStore()
    store.append("cart-1", 0, [NewEvent("CartCreated", {"cartId": "1"}, 99)], META)
    undecodable: dict[str, str] = {}
    streams, commits = commits_by_stream(items_of(store), undecodable, upcaster=cart_events)
    assert (streams, commits) == ({}, 1)
    assert UnreadableEvent.__name__ in undecodable["cart-1"]

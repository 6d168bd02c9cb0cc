"""The projection engine, delivery by delivery: every case DynamoDB Streams and Lambda can produce,
built on purpose rather than left to the property test to draw.

The projection under test records the versions it applies, in order, so a version applied twice,
skipped or applied out of order shows in the row itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.projection.engine import (
    Changes,
    CheckpointMoved,
    GapNotFilled,
    ProjectionEngine,
    Row,
    Target,
)
from shop.views.memory import InMemoryView

META = EventMetadata("corr", "cause", "someone")
STREAM = "thing-1"
KEY = {"id": "1"}


class AppliedVersions:
    """Row ``applied`` lists every version applied, in the order it was applied."""

    name = "AppliedVersions"

    def target(self, stream_id: str) -> Target | None:
        return Target(KEY, "version") if stream_id.startswith("thing-") else None

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        return {"applied": [*row.get("applied", []), event.version]}


class RecordingStore(InMemoryEventStore):
    """Remembers every ``load`` it answers (the engine's gap fills)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, int]] = []

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        self.loads.append((stream_id, after_version))
        return super().load(stream_id, after_version)


def history(store: InMemoryEventStore, *sizes: int) -> list[tuple[RecordedEvent, ...]]:
    """Commits of ``sizes`` events each on STREAM; returns them as delivered records would carry them."""
    version = 0
    for size in sizes:
        version = store.append(STREAM, version, [NewEvent("Happened", {}) for _ in range(size)], META)
    return [events for stream_id, events in store.commits if stream_id == STREAM]


def flat(*commits: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    return [event for commit in commits for event in commit]


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def table() -> InMemoryView:
    return InMemoryView()


@pytest.fixture
def engine(store: RecordingStore, table: InMemoryView) -> ProjectionEngine:
    return ProjectionEngine(AppliedVersions(), table, store)


def row(table: InMemoryView) -> dict[str, Any] | None:
    return table.get(KEY)


def test_commits_in_order_apply_without_reading_the_store(engine, store, table) -> None:
    c1, c2 = history(store, 1, 2)
    engine.project(STREAM, c1)
    engine.project(STREAM, c2)
    assert row(table) == {"id": "1", "applied": [1, 2, 3], "version": 3}
    assert store.loads == []


def test_a_commit_delivered_before_its_predecessor_fills_the_gap_from_the_store(engine, store, table) -> None:
    c1, c2 = history(store, 1, 1)

    engine.project(STREAM, c2)
    assert row(table) == {"id": "1", "applied": [1, 2], "version": 2}
    assert store.loads == [(STREAM, 0)]

    engine.project(STREAM, c1)  # the late predecessor is a duplicate by now
    assert row(table) == {"id": "1", "applied": [1, 2], "version": 2}
    assert store.loads == [(STREAM, 0)]


def test_commits_1_and_3_together_fill_commit_2_from_the_store(engine, store, table) -> None:
    c1, _, c3 = history(store, 1, 1, 1)

    engine.project(STREAM, flat(c1, c3))

    assert row(table) == {"id": "1", "applied": [1, 2, 3], "version": 3}
    assert store.loads == [(STREAM, 0)]


def test_a_gap_after_the_checkpoint_loads_only_what_follows_it(engine, store, table) -> None:
    c1, c2, _, c4 = history(store, 1, 2, 1, 1)
    engine.project(STREAM, flat(c1, c2))

    engine.project(STREAM, c4)

    assert row(table) == {"id": "1", "applied": [1, 2, 3, 4, 5], "version": 5}
    assert store.loads == [(STREAM, 3)]


def test_commits_out_of_order_in_one_batch_apply_in_version_order(engine, store, table) -> None:
    c1, c2, c3 = history(store, 1, 1, 1)

    engine.project(STREAM, flat(c3, c1, c2))

    assert row(table) == {"id": "1", "applied": [1, 2, 3], "version": 3}
    assert store.loads == []


def test_duplicates_apply_once(engine, store, table) -> None:
    c1, c2 = history(store, 2, 1)

    engine.project(STREAM, flat(c1, c1, c2, c2, c1))
    engine.project(STREAM, flat(c2, c1))
    engine.project(STREAM, c1)

    assert row(table) == {"id": "1", "applied": [1, 2, 3], "version": 3}
    assert store.loads == []


def test_a_gap_the_store_cannot_fill_fails_and_writes_nothing(engine, table) -> None:
    elsewhere = InMemoryEventStore()  # the delivered commit exists; this engine's store lacks it
    _, c2 = history(elsewhere, 1, 1)

    with pytest.raises(GapNotFilled, match=f"^{STREAM}: events after version 0 missing from the store$"):
        engine.project(STREAM, c2)
    assert row(table) is None


def test_a_store_that_holds_less_than_was_delivered_fails(store, table) -> None:
    """The store answers the gap fill but ends before the newest delivered version (a stale read)."""
    full = InMemoryEventStore()
    c1, c2, c3 = history(full, 1, 1, 1)
    history(store, 1, 1)  # versions 1 and 2 only
    engine = ProjectionEngine(AppliedVersions(), table, store)

    with pytest.raises(GapNotFilled):
        engine.project(STREAM, flat(c1, c3))
    assert row(table) is None

    engine.project(STREAM, flat(c1, c2))
    assert row(table) == {"id": "1", "applied": [1, 2], "version": 2}


def test_a_store_that_misses_the_first_missing_version_fails(table) -> None:
    """The gap fill must start right after the checkpoint; a store that skips it is no fill."""

    class Skipping(InMemoryEventStore):
        def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
            return super().load(stream_id, after_version)[1:]

    store = Skipping()
    _, _, c3 = history(store, 1, 1, 1)
    engine = ProjectionEngine(AppliedVersions(), table, store)

    with pytest.raises(GapNotFilled):
        engine.project(STREAM, c3)
    assert row(table) is None


def test_streams_the_projection_ignores_and_empty_deliveries_do_nothing(engine, store, table) -> None:
    store.append("other-1", 0, [NewEvent("Happened", {})], META)
    [(_, other)] = store.commits
    engine.project("other-1", other)
    engine.project(STREAM, [])
    assert table.rows == {}
    assert store.loads == []


class Flags:
    """``Set`` sets ``flag``, ``Clear`` removes it, ``Check`` records whether the row has it."""

    name = "Flags"

    def target(self, stream_id: str) -> Target | None:
        return Target(KEY, "version")

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        match event.type:
            case "Set":
                return {"flag": True}
            case "Clear":
                return {"flag": None}
            case _:
                return {"checks": [*row.get("checks", []), "flag" in row]}


def test_an_attribute_removed_earlier_in_a_batch_is_gone_for_later_events(store, table) -> None:
    for version, kind in enumerate(["Clear", "Check", "Set", "Check", "Clear", "Check"]):
        store.append(STREAM, version, [NewEvent(kind, {})], META)
    engine = ProjectionEngine(Flags(), table, store)

    engine.project(STREAM, store.load(STREAM))

    assert row(table) == {"id": "1", "checks": [False, True, False], "version": 6}


class LosesRaces(InMemoryView):
    """A read table where another invocation gets in first: before each of our first ``losses``
    updates, a competitor projects the commits in ``competitor_applies`` (one per lost race), so our
    conditional update finds the checkpoint moved."""

    def __init__(self, competitor: ProjectionEngine | None = None) -> None:
        super().__init__()
        self.competitor = competitor
        self.competitor_applies: list[Sequence[RecordedEvent]] = []
        self.attempts: list[tuple[int, int]] = []
        self.losses = 0

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        self.attempts.append((expected, new))
        if self.losses:
            self.losses -= 1
            assert self.competitor is not None
            self.competitor.project(STREAM, self.competitor_applies.pop(0))
        super().update(key, changes, checkpoint, expected, new)


def test_a_lost_checkpoint_race_is_retried_from_the_new_checkpoint(store) -> None:
    c1, c2, c3 = history(store, 1, 1, 1)
    table = LosesRaces()
    table.competitor = ProjectionEngine(AppliedVersions(), InMemoryViewWrapper(table), store)
    table.competitor_applies = [c1]
    table.losses = 1
    engine = ProjectionEngine(AppliedVersions(), table, store)

    engine.project(STREAM, flat(c1, c2, c3))

    assert table.get(KEY) == {"id": "1", "applied": [1, 2, 3], "version": 3}
    # Our first write (0 -> 3) lost to the competitor's (0 -> 1); the retry wrote 1 -> 3.
    assert table.attempts == [(0, 3), (1, 3)]


def test_a_race_lost_to_a_writer_that_applied_everything_ends_without_a_second_write(store) -> None:
    c1, c2 = history(store, 1, 1)
    table = LosesRaces()
    table.competitor = ProjectionEngine(AppliedVersions(), InMemoryViewWrapper(table), store)
    table.competitor_applies = [flat(c1, c2)]
    table.losses = 1
    engine = ProjectionEngine(AppliedVersions(), table, store)

    engine.project(STREAM, flat(c1, c2))

    assert table.get(KEY) == {"id": "1", "applied": [1, 2], "version": 2}
    assert table.attempts == [(0, 2)]


def test_races_lost_every_time_fail_after_the_attempts_allowed(store) -> None:
    commits = history(store, 1, 1, 1, 1)
    table = LosesRaces()
    table.competitor = ProjectionEngine(AppliedVersions(), InMemoryViewWrapper(table), store)
    table.competitor_applies = [commits[0], commits[1], commits[2]]
    table.losses = 3
    engine = ProjectionEngine(AppliedVersions(), table, store, max_attempts=3)

    with pytest.raises(CheckpointMoved):
        engine.project(STREAM, flat(*commits))

    assert table.attempts == [(0, 4), (1, 4), (2, 4)]
    assert table.get(KEY) == {"id": "1", "applied": [1, 2, 3], "version": 3}


def test_by_default_five_lost_races_in_a_row_fail_naming_the_stream(store) -> None:
    commits = history(store, *[1] * 6)
    table = LosesRaces()
    table.competitor = ProjectionEngine(AppliedVersions(), InMemoryViewWrapper(table), store)
    table.competitor_applies = list(commits[:5])
    table.losses = 5
    engine = ProjectionEngine(AppliedVersions(), table, store)

    with pytest.raises(CheckpointMoved, match=f"^AppliedVersions: {STREAM} kept moving"):
        engine.project(STREAM, flat(*commits))
    assert [expected for expected, _ in table.attempts] == [0, 1, 2, 3, 4]


class InMemoryViewWrapper:
    """The same rows as ``table``, written without ``table``'s race injection (the competitor's view)."""

    def __init__(self, table: InMemoryView) -> None:
        self._table = table

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        return self._table.get(key)

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        InMemoryView.update(self._table, key, changes, checkpoint, expected, new)


class HoledStore(InMemoryEventStore):
    """A store whose stream lacks a version in the middle (a restored store with a lost commit, a
    crafted item): ``load`` answers what it holds, hole and all."""

    def __init__(self, events: Sequence[RecordedEvent], missing: int) -> None:
        super().__init__()
        self._events = [e for e in events if e.version != missing]

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        return [e for e in self._events if e.stream_id == stream_id and e.version > after_version]


def test_a_gap_fill_with_a_hole_in_it_fails_and_writes_nothing(table) -> None:
    """Found by the issue 11 break-it pass: v1 and v3 in the store, v2 missing, and v3 delivered.
    The fill started at v1 and reached v3, so v2 was skipped silently (checkpoint 3)."""
    full = InMemoryEventStore()
    c1, c2, c3 = history(full, 1, 1, 1)
    engine = ProjectionEngine(AppliedVersions(), table, HoledStore(flat(c1, c2, c3), missing=2))

    with pytest.raises(GapNotFilled):
        engine.project(STREAM, c3)
    assert row(table) is None

    engine.project(STREAM, c1)  # what can be applied in order still is
    with pytest.raises(GapNotFilled):
        engine.project(STREAM, c3)
    assert row(table) == {"id": "1", "applied": [1], "version": 1}

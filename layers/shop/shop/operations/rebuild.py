"""Rebuild a read table from its service's event store while live projection goes on.

The event store is read with a parallel ``Scan`` (``total_segments`` segments, one thread each).
DynamoDB puts every item of a partition key, so every commit of one stream, in the same segment,
in version order. Each page's commits are grouped by stream and handed to the **same**
``ProjectionEngine`` the projector Lambda runs, writing the **same** checkpoints:

* a version at or below a row's checkpoint is skipped (the live projector, or an earlier run of
  the rebuild, applied it), so nothing is applied twice;
* the next versions are applied in one conditional write that succeeds only if the checkpoint is
  still the one read; a live projector that got there first makes the engine read the row again
  and apply only what is still missing, so nothing is skipped and a row written by both at the
  same time ends with every version applied once;
* a gap (the scan read an older replica) is filled from the store with a consistent ``Query``;
* streams of a page that share a row (a product and its stock, when the scan put both in one
  page) are written together, one read and one write (``ProjectionEngine.project_together``).

So "in place" (repair: a lost table, deleted rows, records that went to an on-failure queue) and
"into a fresh table" (a new view or a changed projection) are the same run: only the target table
differs. Applied versions are never rewritten: a row that is wrong must be rebuilt into a fresh
table (docs/rebuild.md).

A stream that fails (a commit that does not decode, an event the projection cannot apply) fails
alone, as it does in a projector: it is reported (``Outcome.failures``) and the others go on. Once
the cause is fixed, a second run applies what that stream lacks (and costs one read for every
stream already current).

Resumable: after each page of a segment is applied, ``Positions.save`` records the segment's
``LastEvaluatedKey``; a run started with the saved positions goes on from there (a page applied
but not yet saved is applied again, which the checkpoints make a no-op). ``Rebuild.stop`` (Ctrl-C)
ends every segment after its current page.

Events are upcast on the way in through the owning service's registry (``ReadModel.events``), as
the live projector's are: an old version projects as the current one, and a version newer than
this code fails its stream like any other error (docs/upcasting.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shop.errors import UnreadableEvent
from shop.eventstore.codec import Item, decode_commit
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.model import RecordedEvent
from shop.eventstore.upcasting import AS_STORED, Upcaster
from shop.projection.engine import ProjectionEngine
from shop.views.dynamodb import DynamoDBView
from shop.views.port import Changes, Checkpoints, ReadTable, Row

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shop.operations.readmodels import ReadModel

#: A position in a scan: DynamoDB's ``LastEvaluatedKey`` (``AttributeValue`` form).
Key = dict[str, Any]

#: Segments scanned at once unless told otherwise.
DEFAULT_SEGMENTS = 4


@dataclass(frozen=True, slots=True)
class SegmentPosition:
    """Where a segment stands: ``start`` is the key to go on after (``None``: its beginning)."""

    start: Key | None = None
    done: bool = False


class Positions(Protocol):
    """Where each segment got to; kept by the caller (a file for ``shopctl``, memory elsewhere)."""

    def load(self) -> Mapping[int, SegmentPosition]: ...

    def save(self, segment: int, position: SegmentPosition) -> None: ...


class MemoryPositions:
    def __init__(self) -> None:
        self.positions: dict[int, SegmentPosition] = {}
        self._lock = threading.Lock()

    def load(self) -> Mapping[int, SegmentPosition]:
        with self._lock:
            return dict(self.positions)

    def save(self, segment: int, position: SegmentPosition) -> None:
        with self._lock:
            self.positions[segment] = position


@dataclass(frozen=True, slots=True)
class PageDone:
    """One page of one segment, applied: what the progress display counts."""

    segment: int
    commits: int
    events: int
    streams: int


@dataclass(frozen=True, slots=True)
class SegmentFailure:
    """A stream that could not be applied (``stream_id``), or a segment that could not be read
    (``stream_id`` empty: the scan itself failed, and the segment stopped there)."""

    segment: int
    stream_id: str
    error: str


@dataclass
class Outcome:
    commits: int = 0
    events: int = 0
    #: Stream groups handed to the engine (a stream split over two pages counts twice).
    streams: int = 0
    #: Conditional row writes the rebuild made (each 1+ WCU, plus index writes).
    rows_written: int = 0
    seconds: float = 0.0
    failures: list[SegmentFailure] = field(default_factory=list)
    #: Segments already done before this run (a resumed run).
    skipped_segments: int = 0
    #: Stopped (``Rebuild.stop``) before every segment was done.
    interrupted: bool = False

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


class CommitScan(Protocol):
    """Pages of one segment of an event store: the items and the key to go on after (or ``None``)."""

    def pages(
        self, segment: int, total: int, start: Key | None
    ) -> Iterator[tuple[list[Item], Key | None]]: ...


class DynamoDBCommitScan:
    """``Scan`` of an event-store table, eventually consistent (half the read cost: what it misses,
    the engine reads consistently as a gap, and the live projector delivers anyway)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, page_size: int | None = None) -> None:
        self._client = client
        self.table_name = table_name
        self._page_size = page_size

    def pages(self, segment: int, total: int, start: Key | None) -> Iterator[tuple[list[Item], Key | None]]:
        request: dict[str, Any] = {"TableName": self.table_name, "Segment": segment, "TotalSegments": total}
        if self._page_size:
            request["Limit"] = self._page_size
        while True:
            if start is not None:
                request["ExclusiveStartKey"] = start
            page = self._client.scan(**request)
            start = page.get("LastEvaluatedKey")
            yield list(page.get("Items", [])), start
            if start is None:
                return


def is_commit(item: Item) -> bool:
    """Only commit items are events: anything else a store may hold beside them is not replayed."""
    return "events" in item and "streamId" in item and "version" in item


def items_by_stream(items: Iterable[Item]) -> dict[str, list[Item]]:
    """The commit items, grouped by stream, each group in version order."""
    streams: dict[str, list[Item]] = {}
    for item in items:
        if is_commit(item):
            streams.setdefault(str(item["streamId"]["S"]), []).append(item)
    for group in streams.values():
        group.sort(key=lambda item: int(item["version"]["N"]))
    return streams


def decode_stream(items: Iterable[Item], upcaster: Upcaster) -> list[RecordedEvent]:
    """The events of one stream's commit items, in order, upcast by ``upcaster`` (``ValueError`` & co.
    if one does not decode, ``UnreadableEvent`` if one is of a version the code does not know)."""
    return [event for item in items for event in decode_commit(item, upcaster=upcaster)]


def commits_by_stream(
    items: Iterable[Item], undecodable: dict[str, str] | None = None, *, upcaster: Upcaster = AS_STORED
) -> tuple[dict[str, list[RecordedEvent]], int]:
    """The events of the commit items, grouped by stream in version order; and how many commits.

    A stream with a commit that does not decode is left out, and named in ``undecodable`` (with the
    error) when given; without it, the error is raised."""
    streams: dict[str, list[RecordedEvent]] = {}
    commits = 0
    for stream_id, group in items_by_stream(items).items():
        commits += len(group)
        try:
            streams[stream_id] = decode_stream(group, upcaster)
        except (KeyError, ValueError, TypeError, UnreadableEvent) as error:
            if undecodable is None:
                raise
            undecodable[stream_id] = f"{type(error).__name__}: {error}"
    return streams, commits


class CountingTable:
    """A ``ReadTable`` that counts the writes made through it (the rebuild's write cost)."""

    def __init__(self, table: ReadTable) -> None:
        self._table = table
        self.writes = 0
        self._lock = threading.Lock()

    def get(self, key: Mapping[str, str]) -> Row | None:
        return self._table.get(key)

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        self._table.update(key, changes, checkpoint, expected, new)
        with self._lock:
            self.writes += 1

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        self._table.update_many(key, changes, checkpoints)
        with self._lock:
            self.writes += 1


class Rebuild:
    """One rebuild run: ``scan`` in ``total_segments`` segments, each page through ``engine``."""

    def __init__(
        self,
        engine: ProjectionEngine,
        scan: CommitScan,
        *,
        upcaster: Upcaster,
        total_segments: int = DEFAULT_SEGMENTS,
        positions: Positions | None = None,
        on_page: Callable[[PageDone], None] | None = None,
        writes: Callable[[], int] | None = None,
    ) -> None:
        if total_segments < 1:
            raise ValueError("a scan has at least one segment")
        self._engine = engine
        self._scan = scan
        self._upcaster = upcaster
        self.total_segments = total_segments
        self.positions = positions or MemoryPositions()
        self._on_page = on_page or (lambda _: None)
        self._writes = writes or (lambda: 0)
        self._outcome = Outcome()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        #: Streams that failed in this run: their later commits are not tried again.
        self._failed: set[str] = set()

    def stop(self) -> None:
        """End every segment after the page it is applying (its position saved): ``run`` returns."""
        self._stopping.set()

    def run(self) -> Outcome:
        """Every segment not done yet, in parallel; returns when all are done or ``stop`` was called.

        A ``KeyboardInterrupt`` while waiting stops the segments, waits for their current pages,
        and is raised again (the positions are saved: ``--resume`` goes on)."""
        started = time.monotonic()
        saved = self.positions.load()
        pending = [s for s in range(self.total_segments) if not saved.get(s, SegmentPosition()).done]
        self._outcome = Outcome(skipped_segments=self.total_segments - len(pending))
        if pending:
            pool = ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="rebuild")
            futures = [
                pool.submit(self._segment, segment, saved.get(segment, SegmentPosition()).start)
                for segment in pending
            ]
            try:
                while not all(future.done() for future in futures):
                    wait(futures, timeout=0.2)
            except KeyboardInterrupt:
                self.stop()
                raise
            finally:
                pool.shutdown(wait=True)
        self._outcome.interrupted = self._stopping.is_set()
        self._outcome.seconds = time.monotonic() - started
        self._outcome.rows_written = self._writes()
        return self._outcome

    def _segment(self, segment: int, start: Key | None) -> None:
        try:
            for items, next_start in self._scan.pages(segment, self.total_segments, start):
                streams = items_by_stream(items)
                events = self._apply(segment, streams)
                self.positions.save(segment, SegmentPosition(next_start, done=next_start is None))
                page = PageDone(segment, sum(len(g) for g in streams.values()), events, len(streams))
                with self._lock:
                    self._outcome.commits += page.commits
                    self._outcome.events += page.events
                    self._outcome.streams += page.streams
                self._on_page(page)
                if self._stopping.is_set():
                    return
        except Exception as error:  # noqa: BLE001 - the scan failed: this segment stops, the others go on
            self._fail(segment, "", error)

    def _apply(self, segment: int, streams: Mapping[str, list[Item]]) -> int:
        """Project a page's commits, streams that share a row in one write; the events applied (a
        stream that failed is reported and counts none)."""
        decoded: dict[str, list[RecordedEvent]] = {}
        for stream_id, items in streams.items():
            with self._lock:
                if stream_id in self._failed:
                    continue
            try:
                decoded[stream_id] = decode_stream(items, self._upcaster)
            except Exception as error:  # noqa: BLE001 - one stream fails alone, as in a projector
                self._fail(segment, stream_id, error)
        events = 0
        for stream_id, failure in self._engine.project_together(decoded).items():
            if failure is None:
                events += len(decoded[stream_id])
            else:
                self._fail(segment, stream_id, failure)
        return events

    def _fail(self, segment: int, stream_id: str, error: Exception) -> None:
        with self._lock:
            self._failed.add(stream_id)
            self._outcome.failures.append(
                SegmentFailure(segment, stream_id, f"{type(error).__name__}: {error}")
            )


def dynamodb_rebuild(
    model: ReadModel,
    client: DynamoDBClient,
    *,
    store_table: str,
    view_table: str,
    total_segments: int = DEFAULT_SEGMENTS,
    positions: Positions | None = None,
    on_page: Callable[[PageDone], None] | None = None,
    page_size: int | None = None,
) -> Rebuild:
    """A rebuild of ``model`` from ``store_table`` into ``view_table`` (its live table, or a fresh
    one) through ``client``: the projector's engine, read table and event store adapters."""
    table = CountingTable(DynamoDBView(client, view_table, consistent=True))
    store = DynamoDBEventStore(client, store_table, upcaster=model.events)
    engine = ProjectionEngine(model.projection(), table, store)
    return Rebuild(
        engine,
        DynamoDBCommitScan(client, store_table, page_size=page_size),
        upcaster=model.events,
        total_segments=total_segments,
        positions=positions,
        on_page=on_page,
        writes=lambda: table.writes,
    )

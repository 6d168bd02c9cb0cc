"""One contract, every event-store implementation: in memory, and DynamoDB (moto server).

The DynamoDB store runs against a moto server whose requests are serialised like DynamoDB's, so
the concurrency tests exercise the real conditional writes, not a lock in the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shop.eventstore.codec import encode_commit
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, StreamCheck, StreamWrite
from shop.eventstore.store import MAX_EVENTS_PER_COMMIT, ConcurrencyError, EventStore
from tests.support.tables import create_table

META = EventMetadata(correlation_id="corr-1", causation_id="cause-1", actor="sub-1")


def event(n: int, kind: str = "Happened") -> NewEvent:
    return NewEvent(type=kind, data={"n": n, "text": "ünïcode ✓", "nested": {"list": [1, 2, n]}})


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, template) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield InMemoryEventStore()
        return
    client = request.getfixturevalue("endpoint_dynamodb")
    yield DynamoDBEventStore(client, create_table(client, template, "CatalogEventStore"))


def test_appends_to_a_new_stream_and_loads_the_envelope(store: EventStore) -> None:
    occurred = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
    new = NewEvent(type="ProductCreated", data={"sku": "A-1"}, schema_version=2, occurred_at=occurred)

    assert store.append("product-1", 0, [new], META) == 1

    [loaded] = store.load("product-1")
    assert loaded.event_id == new.event_id
    assert loaded.type == "ProductCreated"
    assert loaded.stream_id == "product-1"
    assert loaded.version == 1
    assert loaded.schema_version == 2
    assert loaded.occurred_at == occurred
    assert loaded.data == {"sku": "A-1"}
    assert loaded.metadata == META


def test_versions_are_contiguous_across_commits(store: EventStore) -> None:
    assert store.append("s", 0, [event(1), event(2)], META) == 2
    assert store.append("s", 2, [event(3)], META) == 3
    assert store.append("s", 3, [event(4), event(5), event(6)], META) == 6

    loaded = store.load("s")
    assert [e.version for e in loaded] == [1, 2, 3, 4, 5, 6]
    assert [e.data["n"] for e in loaded] == [1, 2, 3, 4, 5, 6]


def test_stale_expected_version_fails_and_writes_nothing(store: EventStore) -> None:
    store.append("s", 0, [event(1)], META)

    with pytest.raises(ConcurrencyError) as raised:
        store.append("s", 0, [event(99), event(100)], META)

    assert raised.value.stream_ids == ("s",)
    assert [e.data["n"] for e in store.load("s")] == [1]


def test_a_commit_is_all_or_nothing(store: EventStore) -> None:
    store.append("s", 0, [event(1), event(2), event(3)], META)
    store.append("s", 3, [event(4)], META)

    with pytest.raises(ConcurrencyError):
        store.append("s", 3, [event(5), event(6), event(7)], META)

    assert [e.version for e in store.load("s")] == [1, 2, 3, 4]


def test_load_after_a_version_returns_only_later_events(store: EventStore) -> None:
    store.append("s", 0, [event(1), event(2)], META)
    store.append("s", 2, [event(3), event(4)], META)

    assert [e.version for e in store.load("s", after_version=2)] == [3, 4]
    assert store.load("s", after_version=4) == []
    assert store.load("missing") == []


def test_load_after_a_version_with_one_event_commits(store: EventStore) -> None:
    """Commit boundaries at every version: ``after_version`` excludes exactly the events up to it."""
    for version in range(4):
        store.append("s", version, [event(version + 1)], META)

    for after in range(5):
        assert [e.version for e in store.load("s", after_version=after)] == list(range(after + 1, 5))


def test_a_stream_larger_than_one_query_page_loads_whole(store: EventStore) -> None:
    """DynamoDB answers a Query with at most 1 MB; a longer stream takes several pages."""
    commits, pad = 14, "p" * 100_000  # ~1.4 MB of commits
    for version in range(commits):
        store.append("big", version, [NewEvent("Padded", {"n": version + 1, "pad": pad})], META)
    if isinstance(store, DynamoDBEventStore):
        store = DynamoDBEventStore(CountingQueries(store._client), store.table_name)  # type: ignore[arg-type]

    loaded = store.load("big")
    assert [e.data["n"] for e in loaded] == list(range(1, commits + 1))
    assert all(e.data["pad"] == pad for e in loaded)
    assert [e.version for e in store.load("big", after_version=3)] == list(range(4, commits + 1))
    if isinstance(store, DynamoDBEventStore):
        assert store._client.pages[0] >= 2, "the stream fitted one page; the test proves nothing"


class CountingQueries:
    """A DynamoDB client that counts the Query pages it fetches (per call of ``load``)."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.pages: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def query(self, **request: object) -> object:
        if "ExclusiveStartKey" not in request:
            self.pages.append(0)
        self.pages[-1] += 1
        return self._client.query(**request)  # type: ignore[attr-defined]


def test_streams_are_independent(store: EventStore) -> None:
    store.append("a", 0, [event(1)], META)
    store.append("b", 0, [event(2)], META)

    assert [e.stream_id for e in store.load("a")] == ["a"]
    assert [e.data["n"] for e in store.load("b")] == [2]


def test_a_cross_stream_transaction_writes_every_stream(store: EventStore) -> None:
    store.append("b", 0, [event(1)], META)

    store.append_all([StreamWrite("a", 0, [event(10)]), StreamWrite("b", 1, [event(11), event(12)])], META)

    assert [e.version for e in store.load("a")] == [1]
    assert [e.version for e in store.load("b")] == [1, 2, 3]


def test_a_cross_stream_transaction_with_one_stale_stream_writes_nothing(store: EventStore) -> None:
    store.append("b", 0, [event(1)], META)

    with pytest.raises(ConcurrencyError) as raised:
        store.append_all([StreamWrite("a", 0, [event(10)]), StreamWrite("b", 0, [event(11)])], META)

    assert raised.value.stream_ids == ("b",)
    assert str(raised.value) == "stale expected version on: b"
    assert str(ConcurrencyError(["a", "b"])) == "stale expected version on: a, b"
    assert store.load("a") == []
    assert [e.data["n"] for e in store.load("b")] == [1]


def test_a_transaction_of_one_stream_is_a_plain_append(store: EventStore) -> None:
    store.append("s", 0, [event(1)], META)
    other = EventMetadata("corr-2", "cause-2", "sub-2")

    store.append_all([StreamWrite("s", 1, [event(2), event(3)])], other)

    loaded = store.load("s")
    assert [(e.version, e.data["n"]) for e in loaded] == [(1, 1), (2, 2), (3, 3)]
    assert [e.metadata for e in loaded] == [META, other, other]
    with pytest.raises(ConcurrencyError) as raised:
        store.append_all([StreamWrite("s", 1, [event(9)])], META)
    assert raised.value.stream_ids == ("s",)


def test_commit_size_is_bounded(store: EventStore) -> None:
    with pytest.raises(ValueError, match=r"^a commit needs at least one event$"):
        store.append("s", 0, [], META)
    with pytest.raises(ValueError, match=f"^a commit holds at most {MAX_EVENTS_PER_COMMIT} events$"):
        store.append("s", 0, [event(i) for i in range(MAX_EVENTS_PER_COMMIT + 1)], META)
    once = "^a transaction writes each stream at most once$"
    with pytest.raises(ValueError, match=once):
        store.append_all([StreamWrite("s", 0, [event(1)]), StreamWrite("s", 0, [event(2)])], META)
    with pytest.raises(ValueError, match=once):
        store.append_all([StreamWrite("s", 0, [event(1)])], META, unchanged=[StreamCheck("s", 0)])
    with pytest.raises(ValueError, match=r"^a transaction needs at least one stream write$"):
        store.append_all([], META, unchanged=[StreamCheck("t", 0)])
    assert store.load("s") == []


def test_a_commit_of_the_largest_size_is_accepted(store: EventStore) -> None:
    assert store.append("s", 0, [event(i) for i in range(MAX_EVENTS_PER_COMMIT)], META) == 100
    assert len(store.load("s")) == MAX_EVENTS_PER_COMMIT


def test_concurrent_writers_to_one_stream_lose_nothing(store: EventStore) -> None:
    """10 threads, each appending 5 commits of 2 events with load-and-retry: 100 contiguous events."""
    writers, commits, start = 10, 5, threading.Barrier(10)
    conflicts, stuck = [], []

    def writer(index: int) -> None:
        start.wait()
        for commit in range(commits):
            for _ in range(300):  # bounded: a store that always refuses fails the test, not hangs it
                version = len(store.load("hot"))
                time.sleep(0.001)  # a writer thinks a moment between reading and writing: races happen
                try:
                    store.append(
                        "hot",
                        version,
                        [event(index * 100 + commit * 2), event(index * 100 + commit * 2 + 1)],
                        META,
                    )
                    break
                except ConcurrencyError:
                    conflicts.append(index)
            else:
                stuck.append(index)
                return

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert stuck == []
    loaded = store.load("hot")
    assert [e.version for e in loaded] == list(range(1, writers * commits * 2 + 1))
    assert sorted(e.data["n"] for e in loaded) == sorted(
        i * 100 + k for i in range(writers) for k in range(commits * 2)
    )
    # Events of one commit stay together, in order.
    for first, second in zip(loaded[::2], loaded[1::2], strict=True):
        assert second.data["n"] == first.data["n"] + 1
    assert conflicts, "the writers never raced; the test proves nothing"


def test_concurrent_transactions_on_overlapping_streams_never_both_win(store: EventStore) -> None:
    """Transactions over {x, y} and {y, z} from the same versions: exactly one commits per round."""
    for round_ in range(10):
        versions = {s: len(store.load(s)) for s in ("x", "y", "z")}
        results: list[str] = []
        barrier = threading.Barrier(2)

        def attempt(
            streams: tuple[str, str], results=results, barrier=barrier, versions=versions, round_=round_
        ) -> None:
            barrier.wait()
            try:
                store.append_all([StreamWrite(s, versions[s], [event(round_)]) for s in streams], META)
                results.append("won")
            except ConcurrencyError:
                results.append("lost")

        threads = [threading.Thread(target=attempt, args=(p,)) for p in (("x", "y"), ("y", "z"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["lost", "won"]
    assert len(store.load("y")) == 10
    assert len(store.load("x")) + len(store.load("z")) == 10


class LostResponses:
    """A DynamoDB client whose writes land but whose answers get lost once, so the SDK sends the
    same request again (what botocore's retries do after a timeout or a 500)."""

    def __init__(self, client: object) -> None:
        self._client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def put_item(self, **request: object) -> object:
        self._client.put_item(**request)  # type: ignore[attr-defined]
        return self._client.put_item(**request)  # type: ignore[attr-defined]

    def transact_write_items(self, **request: object) -> object:
        self._client.transact_write_items(**request)  # type: ignore[attr-defined]
        return self._client.transact_write_items(**request)  # type: ignore[attr-defined]


def test_a_write_repeated_by_sdk_retries_is_not_a_conflict(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    table = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    store = DynamoDBEventStore(LostResponses(endpoint_dynamodb), table)  # type: ignore[arg-type]

    assert store.append("s", 0, [event(1)], META) == 1
    store.append_all([StreamWrite("s", 1, [event(2)]), StreamWrite("t", 0, [event(3)])], META)

    store.append_all([StreamWrite("u", 0, [event(4)])], META, unchanged=[StreamCheck("t", 1)])

    assert [e.data["n"] for e in store.load("s")] == [1, 2]
    assert [e.data["n"] for e in store.load("u")] == [4]
    with pytest.raises(ConcurrencyError):  # a genuinely stale writer still loses
        DynamoDBEventStore(endpoint_dynamodb, table).append("s", 1, [event(9)], META)


def test_a_conflict_with_an_item_that_has_no_commit_id_is_a_conflict(endpoint_dynamodb, template) -> None:  # type: ignore[no-untyped-def]
    """Items written without a ``commitId`` (by hand, or before it existed) still win the race."""
    table = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    item = encode_commit("s", 0, [event(1)], META)
    assert "commitId" not in item
    endpoint_dynamodb.put_item(TableName=table, Item=item)
    store = DynamoDBEventStore(endpoint_dynamodb, table)

    with pytest.raises(ConcurrencyError):
        store.append("s", 0, [event(2)], META)
    with pytest.raises(ConcurrencyError):
        store.append_all([StreamWrite("s", 0, [event(2)]), StreamWrite("t", 0, [event(3)])], META)


class CancelsTransactions:
    """A DynamoDB client whose transactions are cancelled, writing nothing, for the given reasons
    (``CancellationReasons`` as DynamoDB returns them: one per item, ``None`` for items that were fine)."""

    def __init__(self, client: object, codes: list[str] | None) -> None:
        self._client = client
        self._codes = codes

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def transact_write_items(self, **request: object) -> object:
        response: dict[str, Any] = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        }
        if self._codes is not None:
            response["CancellationReasons"] = [
                {"Code": c, "Message": f"{c} on this item"} for c in self._codes
            ]
        raise ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "stale"),
    [
        (["ConditionalCheckFailed", "None", "None"], ("a",)),
        (["None", "TransactionConflict", "None"], ("b",)),
        (["None", "None", "ConditionalCheckFailed"], ("c",)),
        (["None", "ValidationError", "None"], None),
        (["ThrottlingError", "None", "None"], None),
        (["None", "None", "ProvisionedThroughputExceeded"], None),
        ([], ("a", "b", "c")),  # no reasons given: nothing was written, so a retry is safe
        (None, ("a", "b", "c")),  # not even the field
    ],
)
def test_only_conflicts_cancel_a_transaction_as_a_concurrency_error(
    endpoint_dynamodb, template, codes: list[str] | None, stale: tuple[str, ...] | None
) -> None:  # type: ignore[no-untyped-def]
    """A conflict is retried by the caller; any other reason (an invalid item, throttling) is an
    error of its own and must surface as it is, not be retried as a race."""
    table = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    store = DynamoDBEventStore(CancelsTransactions(endpoint_dynamodb, codes), table)  # type: ignore[arg-type]
    writes = [StreamWrite("a", 0, [event(1)]), StreamWrite("b", 0, [event(2)])]

    if stale is not None:
        with pytest.raises(ConcurrencyError) as conflict:
            store.append_all(writes, META, unchanged=[StreamCheck("c", 0)])
        assert conflict.value.stream_ids == stale
    else:
        with pytest.raises(ClientError) as raised:
            store.append_all(writes, META, unchanged=[StreamCheck("c", 0)])
        assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert store.load("a") == []


def test_a_write_can_require_other_streams_to_be_unchanged(store: EventStore) -> None:
    """A rule over several streams, where only one is written: the others must not move meanwhile."""
    store.append("product", 0, [event(1)], META)

    store.append_all([StreamWrite("stock", 0, [event(2)])], META, unchanged=[StreamCheck("product", 1)])
    assert [e.version for e in store.load("stock")] == [1]

    store.append("product", 1, [event(3)], META)  # e.g. discontinued meanwhile
    with pytest.raises(ConcurrencyError) as raised:
        store.append_all([StreamWrite("stock", 1, [event(4)])], META, unchanged=[StreamCheck("product", 1)])
    assert raised.value.stream_ids == ("product",)
    assert [e.version for e in store.load("stock")] == [1]


class RecordingClient:
    """A DynamoDB client that records every request it forwards, by operation."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> object:
        forward = getattr(self._client, name)
        if not callable(forward):
            return forward

        def record(**request: Any) -> object:
            self.requests.append((name, request))
            return forward(**request)

        return record


def test_dynamodb_writes_one_stream_with_a_put_and_several_in_one_idempotent_transaction(
    endpoint_dynamodb, template
) -> None:  # type: ignore[no-untyped-def]
    """One stream: a 1-WCU PutItem, not a transaction (2 WCU per item). Several: one transaction
    whose ClientRequestToken is the commit id its items carry, so an SDK retry is DynamoDB's
    idempotent repeat. Reads are strongly consistent: a gap fill must see the newest commits."""
    client = RecordingClient(endpoint_dynamodb)
    store = DynamoDBEventStore(client, create_table(endpoint_dynamodb, template, "CatalogEventStore"))  # type: ignore[arg-type]

    store.append_all([StreamWrite("a", 0, [event(1)])], META)
    store.append_all([StreamWrite("a", 1, [event(2)]), StreamWrite("b", 0, [event(3)])], META)
    store.load("a")

    [(put, _), (transaction, request), (query, read)] = client.requests
    assert (put, transaction, query) == ("put_item", "transact_write_items", "query")
    tokens = {item["Put"]["Item"]["commitId"]["S"] for item in request["TransactItems"]}
    assert tokens == {request["ClientRequestToken"]}
    assert read["ConsistentRead"] is True

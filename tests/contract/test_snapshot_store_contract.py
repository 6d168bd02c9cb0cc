"""One contract, every snapshot-store implementation: in memory, and DynamoDB (moto server).

The DynamoDB store runs in a table created from the template's ``CartSnapshotStore`` against a moto
server whose requests are serialised like DynamoDB's, so racing writers exercise the real
conditional put.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shop.eventstore.dynamodb_snapshots import DynamoDBSnapshotStore, encode_snapshot
from shop.eventstore.snapshots import (
    InMemorySnapshotStore,
    RequestCommit,
    Snapshot,
    SnapshotStore,
    UnreadableSnapshot,
)
from tests.support.tables import create_table

TAKEN = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)


def snapshot(version: int, stream_id: str = "cart-1", **changes: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "stream_id": stream_id,
        "version": version,
        "commit_version": version,
        "last_event_id": f"event-{version}",
        "schema_version": 1,
        "state": {"name": "ünïcode ✓", "lines": [{"n": version, "nested": {"ok": True}}], "none": None},
        "taken_at": TAKEN,
        "requests": {},
        **changes,
    }
    return Snapshot(**fields)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, template) -> Iterator[SnapshotStore]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield InMemorySnapshotStore()
        return
    client = request.getfixturevalue("endpoint_dynamodb")
    yield DynamoDBSnapshotStore(client, create_table(client, template, "CartSnapshotStore"))


def test_a_stream_without_a_snapshot_has_none(store: SnapshotStore) -> None:
    assert store.get("cart-1") is None


def test_a_snapshot_comes_back_as_it_was_put(store: SnapshotStore) -> None:
    keyed = {
        "a" * 32: RequestCommit(3, TAKEN - timedelta(hours=2)),
        "b" * 32: RequestCommit(7, TAKEN),
    }
    put = snapshot(8, commit_version=6, last_event_id="e-8", schema_version=3, requests=keyed)

    store.put(put)

    assert store.get("cart-1") == put


def test_a_later_snapshot_replaces_the_stream_s_snapshot(store: SnapshotStore) -> None:
    store.put(snapshot(5))
    store.put(snapshot(10))

    got = store.get("cart-1")
    assert got is not None
    assert got.version == 10


@pytest.mark.parametrize("version", [5, 3])
def test_an_earlier_or_equal_snapshot_never_replaces_the_stream_s_snapshot(
    store: SnapshotStore, version: int
) -> None:
    store.put(snapshot(5, last_event_id="first"))
    store.put(snapshot(version, last_event_id="second"))  # no error: the stored one serves as well

    got = store.get("cart-1")
    assert got is not None
    assert (got.version, got.last_event_id) == (5, "first")


def test_streams_have_their_own_snapshots(store: SnapshotStore) -> None:
    store.put(snapshot(4, "cart-1"))
    store.put(snapshot(9, "cart-2"))

    first, second = store.get("cart-1"), store.get("cart-2")
    assert first is not None
    assert second is not None
    assert (first.version, second.version) == (4, 9)


def test_racing_writers_leave_the_latest_snapshot(store: SnapshotStore) -> None:
    versions = list(range(1, 13))
    threads = [threading.Thread(target=store.put, args=(snapshot(v),)) for v in reversed(versions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    got = store.get("cart-1")
    assert got is not None
    assert got.version == max(versions)


# ---------------------------------------------------------------------- DynamoDB: the stored item
@pytest.fixture
def table(endpoint_dynamodb: Any, template: Any) -> tuple[Any, str]:
    return endpoint_dynamodb, create_table(endpoint_dynamodb, template, "CartSnapshotStore")


def test_the_template_s_snapshot_table_has_no_stream(table: tuple[Any, str]) -> None:
    """Nothing can consume a snapshot as a commit: the table streams nothing."""
    client, name = table
    assert "StreamSpecification" not in client.describe_table(TableName=name)["Table"]


def test_a_snapshot_is_one_item_with_the_state_as_compact_json(table: tuple[Any, str]) -> None:
    client, name = table
    DynamoDBSnapshotStore(client, name).put(snapshot(2, requests={"k" * 32: RequestCommit(1, TAKEN)}))

    [item] = client.scan(TableName=name)["Items"]
    assert item["streamId"] == {"S": "cart-1"}
    assert item["version"] == {"N": "2"}
    assert item["state"]["S"].startswith('{"name":"ünïcode ✓","lines":[{"n":2')
    assert item["requests"] == {"S": '{"' + "k" * 32 + '":[1,"2026-11-26T09:30:15.123456Z"]}'}
    assert "requests" not in encode_snapshot(snapshot(2))  # none: no attribute


def corrupt(item: dict[str, Any], how: str) -> dict[str, Any]:
    match how:
        case "state is not JSON":
            item["state"] = {"S": "{not json"}
        case "state is a list":
            item["state"] = {"S": "[1, 2]"}
        case "no version":
            del item["version"]
        case "version is text":
            item["version"] = {"S": "7"}
        case "requests are not pairs":
            item["requests"] = {"S": '{"key": 7}'}
        case "taken at is no time":
            item["takenAt"] = {"S": "yesterday"}
    return item


@pytest.mark.parametrize(
    "how",
    [
        "state is not JSON",
        "state is a list",
        "no version",
        "version is text",
        "requests are not pairs",
        "taken at is no time",
    ],
)
def test_a_corrupt_item_is_unreadable_not_a_snapshot(table: tuple[Any, str], how: str) -> None:
    client, name = table
    client.put_item(TableName=name, Item=corrupt(encode_snapshot(snapshot(3)), how))

    with pytest.raises(UnreadableSnapshot):
        DynamoDBSnapshotStore(client, name).get("cart-1")

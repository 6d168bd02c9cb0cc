"""How a commit is stored: what stream filters read, and a compact body (item size is cost)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from shop.eventstore.codec import decode_commit, encode_commit, format_timestamp
from shop.eventstore.model import EventMetadata, NewEvent
from shop.eventstore.upcasting import AS_STORED

META = EventMetadata("corr", "cause", "someone")


def test_a_commit_item_lists_its_event_types_once_each_for_stream_filters() -> None:
    events = [NewEvent("B", {}), NewEvent("A", {}), NewEvent("B", {})]
    item = encode_commit("s", 4, events, META, "commit-1")
    assert item["eventTypes"] == {"SS": ["A", "B"]}
    assert (item["streamId"], item["version"], item["commitId"]) == (
        {"S": "s"},
        {"N": "5"},
        {"S": "commit-1"},
    )


def test_the_body_is_compact_json_with_text_kept_as_utf8() -> None:
    item = encode_commit("s", 0, [NewEvent("A", {"name": "Tüte", "n": [1, 2]})], META)
    body = item["events"]["S"]
    assert '"name":"Tüte"' in body
    assert '"n":[1,2]' in body
    assert ", " not in body
    assert ": " not in body
    [decoded] = decode_commit(item, upcaster=AS_STORED)
    assert decoded.data == {"name": "Tüte", "n": [1, 2]}


def test_timestamps_are_stored_in_utc() -> None:
    moment = datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-01-01T00:30:00.000000Z"


def test_new_events_get_unique_uuid_ids_and_aware_utc_times() -> None:
    first, second = NewEvent("A", {}), NewEvent("A", {})
    assert first.event_id != second.event_id
    assert uuid.UUID(first.event_id).version == 4
    assert first.occurred_at.tzinfo is UTC


def test_the_metadata_round_trips_with_the_actor_beside_correlation_and_causation() -> None:
    item = encode_commit("s", 0, [NewEvent("A", {}), NewEvent("B", {})], META)
    assert (item["correlationId"], item["causationId"], item["actor"]) == (
        {"S": "corr"},
        {"S": "cause"},
        {"S": "someone"},
    )
    assert [event.metadata for event in decode_commit(item, upcaster=AS_STORED)] == [META, META]


def test_a_commit_stored_before_actors_were_recorded_has_an_unknown_actor() -> None:
    item = encode_commit("s", 0, [NewEvent("A", {})], META)
    del item["actor"]
    [event] = decode_commit(item, upcaster=AS_STORED)
    assert event.metadata == EventMetadata("corr", "cause", "")

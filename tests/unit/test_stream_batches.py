"""Stream batches and partial failures: a failed record holds back the later records of its own
source stream (so effects never happen out of order) and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.functions import LambdaContext
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED
from shop.projection.engine import ProjectionEngine
from shop.streams import (
    TIME_RESERVE_MS,
    BatchFailed,
    _remaining_ms,
    partial_batch_response,
    policy_handler,
    projector_handler,
)
from shop.views.memory import InMemoryView
from tests.support.histories import stream_record
from tests.unit.test_projection_engine import AppliedVersions

META = EventMetadata("corr", "cause", "someone")


class Refused(Exception):
    pass


class RecordingPolicy:
    """Handles ``Happened`` events; refuses those marked ``fail``; remembers what it handled."""

    name = "RecordingPolicy"
    handles = frozenset({"Happened"})

    def __init__(self) -> None:
        self.handled: list[tuple[str, int]] = []

    def handle(self, event: RecordedEvent) -> None:
        if event.data.get("fail"):
            raise Refused(event.stream_id)
        self.handled.append((event.stream_id, event.version))


def commit(store: InMemoryEventStore, stream_id: str, *events: NewEvent) -> tuple[str, tuple[Any, ...]]:
    version = len(store.load(stream_id))
    store.append(stream_id, version, list(events), META)
    return store.commits[-1]


def happened(**data: Any) -> NewEvent:
    return NewEvent("Happened", data)


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def test_a_failed_policy_record_fails_the_later_records_of_its_stream_only() -> None:
    store = InMemoryEventStore()
    commits = [
        commit(store, "thing-a", happened(fail=True)),
        commit(store, "thing-b", happened()),
        commit(store, "thing-a", happened()),
        commit(store, "thing-b", happened(), happened()),
        commit(store, "thing-a", happened()),
    ]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    policy = RecordingPolicy()

    response = policy_handler(lambda: policy, source=AS_STORED)({"Records": records}, LambdaContext("Policy"))

    assert failed_ids(response) == [sequence(records[0]), sequence(records[2]), sequence(records[4])]
    assert policy.handled == [("thing-b", 1), ("thing-b", 2), ("thing-b", 3)]


def test_a_policy_failing_midway_through_a_stream_keeps_what_came_before() -> None:
    store = InMemoryEventStore()
    commits = [
        commit(store, "thing-a", happened()),
        commit(store, "thing-a", happened(fail=True)),
        commit(store, "thing-a", happened()),
    ]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    policy = RecordingPolicy()

    response = policy_handler(lambda: policy, source=AS_STORED)({"Records": records}, LambdaContext("Policy"))

    assert failed_ids(response) == [sequence(records[1]), sequence(records[2])]
    assert policy.handled == [("thing-a", 1)]


def test_a_policy_ignores_event_types_it_does_not_handle_and_records_that_are_not_inserts() -> None:
    store = InMemoryEventStore()
    ignored = stream_record(commit(store, "thing-a", NewEvent("Other", {"fail": True})), 0)
    removed = stream_record(commit(store, "thing-a", happened(fail=True)), 1) | {"eventName": "REMOVE"}
    kept = stream_record(commit(store, "thing-a", happened()), 2)
    policy = RecordingPolicy()

    response = policy_handler(lambda: policy, source=AS_STORED)(
        {"Records": [ignored, removed, kept]}, LambdaContext("Policy")
    )

    assert response == {"batchItemFailures": []}
    assert policy.handled == [("thing-a", 3)]


class FailingFor(InMemoryView):
    """A read table whose writes for one row fail."""

    def __init__(self, failing_id: str) -> None:
        super().__init__()
        self.failing_id = failing_id

    def update(self, key: Any, *args: Any, **kwargs: Any) -> None:
        if key["id"] == self.failing_id:
            raise Refused(key)
        super().update(key, *args, **kwargs)


class PerThing(AppliedVersions):
    def target(self, stream_id: str) -> Any:
        target = super().target(stream_id)
        return target and type(target)({"id": stream_id.removeprefix("thing-")}, target.checkpoint)


@pytest.mark.parametrize("broken", ["write", "record"])
def test_a_failed_projection_fails_every_record_of_its_stream_and_no_other(broken: str) -> None:
    store = InMemoryEventStore()
    commits = [
        commit(store, "thing-a", happened()),
        commit(store, "thing-b", happened()),
        commit(store, "thing-a", happened()),
        commit(store, "thing-b", happened()),
    ]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    table = FailingFor("a" if broken == "write" else "none")
    if broken == "record":  # a commit item that does not decode
        records[2]["dynamodb"]["NewImage"]["events"] = {"S": "not JSON"}
    engine = ProjectionEngine(PerThing(), table, store)

    response = projector_handler(lambda: engine, source=AS_STORED)(
        {"Records": records}, LambdaContext("Projector")
    )

    assert failed_ids(response) == [sequence(records[0]), sequence(records[2])]
    assert table.get({"id": "a"}) is None
    assert table.get({"id": "b"}) == {"id": "b", "applied": [1, 2], "version": 2}


def test_without_a_lambda_clock_a_batch_assumes_ample_time() -> None:
    assert _remaining_ms(object()) == 3 * TIME_RESERVE_MS == 18_000
    assert _remaining_ms(LambdaContext("Fn", timeout_seconds=2)) <= 2_000


def test_when_every_record_fails_the_invocation_fails_with_the_first_records_error() -> None:
    """As Powertools' BatchProcessor did: a function error, not a report naming every record, so
    Lambda splits the batch (``BisectBatchOnFunctionError``) before it delivers it again."""
    store = InMemoryEventStore()
    records = [stream_record(commit(store, "thing-a", happened()), n) for n in range(2)]
    engine = ProjectionEngine(PerThing(), FailingFor("a"), store)

    with pytest.raises(BatchFailed, match="all 2 records failed; the first: Refused") as raised:
        projector_handler(lambda: engine, source=AS_STORED)({"Records": records}, LambdaContext("Projector"))

    assert isinstance(raised.value.__cause__, Refused)


def test_a_partial_batch_response_names_each_failed_record_by_its_identifier_in_order() -> None:
    messages = [{"messageId": f"m-{n}", "body": str(n)} for n in range(4)]

    def handle(message: Any) -> None:
        if message["body"] in {"1", "3"}:
            raise Refused(message["messageId"])

    response = partial_batch_response(messages, handle, lambda message: message["messageId"])

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}


def test_an_event_without_records_is_no_batch() -> None:
    with pytest.raises(ValueError, match="no Records"):
        projector_handler(
            lambda: ProjectionEngine(PerThing(), InMemoryView(), InMemoryEventStore()), source=AS_STORED
        )({"Records": []}, LambdaContext("Projector"))

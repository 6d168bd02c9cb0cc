"""Policies park what can never succeed at once and retry the rest; every log line a record causes
carries its commit's correlation id (``shop.streams``)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from local.aws.functions import LambdaContext
from shop.errors import ConcurrencyConflict, DependencyUnavailable, RuleViolated, UnreadableEvent
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED
from shop.operations.parking import InMemoryParkingLot
from shop.projection.engine import ProjectionEngine
from shop.streams import (
    DETERMINISTIC_FAILURE,
    MalformedRecord,
    OutOfTime,
    deterministic,
    policy_handler,
    projector_handler,
)
from shop.views.memory import InMemoryView
from tests.support.histories import stream_record
from tests.unit.test_projection_engine import AppliedVersions
from tests.unit.test_stream_batches import commit, failed_ids, happened, sequence


class Payload(BaseModel):
    amount: int


def validation_error() -> Exception:
    try:
        Payload.model_validate({"amount": "lots"})
    except ValueError as error:
        return error
    raise AssertionError("validated")


FAILURES: dict[str, Exception] = {
    "unreadable": UnreadableEvent("Happened", 9, "newer than this code"),
    "invalid payload": validation_error(),
    "rule": RuleViolated("the order is not pending"),
    "malformed": MalformedRecord("no commit"),
    "unavailable": DependencyUnavailable("DynamoDB T", "ThrottlingException"),
    "conflict": ConcurrencyConflict("lost 5 races"),
    "out of time": OutOfTime("1 ms left"),
    "unknown": RuntimeError("who knows"),
}
DETERMINISTIC = {"unreadable", "invalid payload", "rule", "malformed"}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_what_never_succeeds_is_deterministic_and_the_rest_transient(name: str) -> None:
    assert deterministic(FAILURES[name]) is (name in DETERMINISTIC)


class FailingPolicy:
    """Handles ``Happened``; raises the failure an event names; remembers what it handled."""

    name = "FailingPolicy"
    handles = frozenset({"Happened"})

    def __init__(self) -> None:
        self.handled: list[tuple[str, int]] = []

    def handle(self, event: RecordedEvent) -> None:
        if "fail" in event.data:
            raise FAILURES[event.data["fail"]]
        self.handled.append((event.stream_id, event.version))


def run_policy(name: str) -> tuple[dict[str, Any], FailingPolicy, InMemoryParkingLot, list[dict[str, Any]]]:
    store = InMemoryEventStore()
    commits = [
        commit(store, "thing-a", happened()),
        commit(store, "thing-a", happened(fail=name)),
        commit(store, "thing-b", happened()),
        commit(store, "thing-a", happened()),
    ]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    policy = FailingPolicy()
    lot = InMemoryParkingLot("FailingPolicy")
    handler = policy_handler(lambda: policy, lambda: lot, source=AS_STORED, name="FailingPolicy")
    return handler({"Records": records}, LambdaContext("Policy")), policy, lot, records


@pytest.mark.parametrize("name", sorted(DETERMINISTIC - {"malformed"}))
def test_a_deterministic_failure_parks_the_stream_at_once_and_reports_the_record_handled(name: str) -> None:
    response, policy, lot, records = run_policy(name)

    assert failed_ids(response) == []  # nothing for Lambda to retry for hours
    assert policy.handled == [("thing-a", 1), ("thing-b", 1)]
    parked = lot.stream("thing-a")
    assert parked is not None
    assert [r.version for r in parked.records] == [2, 3]  # the failing record and the one behind it
    assert parked.failure.condition == DETERMINISTIC_FAILURE
    assert parked.failure.version == 2
    assert parked.failure.error.startswith(type(FAILURES[name]).__name__)
    assert lot.parked_streams() == frozenset({"thing-a"})
    del records


@pytest.mark.parametrize("name", sorted(set(FAILURES) - DETERMINISTIC))
def test_a_transient_failure_fails_the_record_for_lambda_to_deliver_again(name: str) -> None:
    response, policy, lot, records = run_policy(name)

    assert failed_ids(response) == [sequence(records[1]), sequence(records[3])]
    assert policy.handled == [("thing-a", 1), ("thing-b", 1)]
    assert lot.streams() == []


def test_a_record_that_is_no_commit_is_parked_at_once() -> None:
    store = InMemoryEventStore()
    records = [stream_record(commit(store, "thing-a", happened()), 0)]
    del records[0]["dynamodb"]["NewImage"]["events"]
    lot = InMemoryParkingLot("FailingPolicy")
    policy = FailingPolicy()

    response = policy_handler(lambda: policy, lambda: lot, source=AS_STORED)(
        {"Records": records}, LambdaContext("Policy")
    )

    assert failed_ids(response) == []
    parked = lot.stream("thing-a")
    assert parked is not None
    assert parked.failure.error.startswith("MalformedRecord")


def test_without_a_parking_lot_a_deterministic_failure_still_fails_the_record() -> None:
    store = InMemoryEventStore()
    commits = [commit(store, "thing-a", happened(fail="rule")), commit(store, "thing-b", happened())]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    policy = FailingPolicy()

    response = policy_handler(lambda: policy, source=AS_STORED)({"Records": records}, LambdaContext("P"))

    assert failed_ids(response) == [sequence(records[0])]


def test_when_parking_fails_the_record_fails_and_is_delivered_again() -> None:
    class Unreachable(InMemoryParkingLot):
        def park(self, *_: Any, **__: Any) -> None:
            raise DependencyUnavailable("DynamoDB FailingPolicyParked", "InternalServerError")

    store = InMemoryEventStore()
    commits = [commit(store, "thing-a", happened(fail="rule")), commit(store, "thing-b", happened())]
    records = [stream_record(c, n) for n, c in enumerate(commits)]
    lot = Unreachable("FailingPolicy")

    response = policy_handler(FailingPolicy, lambda: lot, source=AS_STORED)(
        {"Records": records}, LambdaContext("P")
    )

    assert failed_ids(response) == [sequence(records[0])]


# ---------------------------------------------------------------------- logs
@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """A fresh Powertools logger (its own service name, INFO) writing to a buffer."""
    service = f"stream-logs-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    buffer = io.StringIO()
    yield buffer
    logger = logging.getLogger(service)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def redirect(buffer: io.StringIO) -> None:
    import os  # noqa: PLC0415

    for handler in logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"]).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)


def test_each_policy_line_carries_its_commits_correlation_id_and_the_keys_go_afterwards(
    json_logs: io.StringIO,
) -> None:
    store = InMemoryEventStore()
    store.append("thing-a", 0, [happened()], EventMetadata("corr-a", "cause", "someone"))
    store.append("thing-b", 0, [happened(), happened()], EventMetadata("corr-b", "cause", "someone"))
    records = [stream_record(c, n) for n, c in enumerate(store.commits)]
    handler = policy_handler(FailingPolicy, source=AS_STORED, name="FailingPolicy")
    redirect(json_logs)

    handler({"Records": records}, LambdaContext("FailingPolicy"))

    logged = lines(json_logs)
    handled = [line for line in logged if line["message"] == "event handled"]
    assert [(h["correlation_id"], h["stream_id"], h["version"], h["event_type"]) for h in handled] == [
        ("corr-a", "thing-a", 1, "Happened"),
        ("corr-b", "thing-b", 1, "Happened"),
        ("corr-b", "thing-b", 2, "Happened"),
    ]
    assert all(h["level"] == "INFO" and h["consumer"] == "FailingPolicy" for h in handled)
    [summary] = [line for line in logged if line["message"] == "batch handled"]
    assert not set(summary) & {"correlation_id", "stream_id", "version", "event_type"}


def test_each_projected_event_is_logged_with_its_correlation_id(json_logs: io.StringIO) -> None:
    store = InMemoryEventStore()
    store.append("thing-a", 0, [NewEvent("Happened", {})], EventMetadata("corr-1", "c", "someone"))
    store.append("thing-a", 1, [NewEvent("Happened", {})], EventMetadata("corr-2", "c", "someone"))
    records = [stream_record(c, n) for n, c in enumerate(store.commits)]
    engine = ProjectionEngine(AppliedVersions(), InMemoryView(), store)
    handler = projector_handler(lambda: engine, source=AS_STORED, name="ThingProjector")
    redirect(json_logs)

    handler({"Records": records}, LambdaContext("ThingProjector"))

    projected = [line for line in lines(json_logs) if line["message"] == "event projected"]
    assert [(p["correlation_id"], p["version"], p["consumer"]) for p in projected] == [
        ("corr-1", 1, "ThingProjector"),
        ("corr-2", 2, "ThingProjector"),
    ]

"""The local event source mapping follows Lambda's rules for DynamoDB Streams."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from local.aws.esm import EventSourceMapping, FunctionError, Throttled
from local.aws.template import StreamSubscription
from shop.operations.parking import OnFailureRecord
from tests.unit.test_parking import AWS_EXAMPLE


class FakeReader:
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/1"
    shard_id = "shard-1"

    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []

    def add(self, *stream_ids: str, created: float = 1000.0) -> None:
        for stream_id in stream_ids:
            sequence = f"{len(self.queue) + 1:05d}"
            self.queue.append(
                {
                    "eventID": sequence,
                    "eventName": "INSERT",
                    "dynamodb": {
                        "ApproximateCreationDateTime": created,
                        "Keys": {"streamId": {"S": stream_id}},
                        "SequenceNumber": sequence,
                    },
                }
            )

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        records, self.queue = self.queue[:limit], self.queue[limit:]
        return records


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def subscription(**settings: Any) -> StreamSubscription:
    defaults = {
        "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 2,
        "MaximumRecordAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": "dlq"}},
    }
    return StreamSubscription("Fn", "Ev", "T", defaults | settings)


class Harness:
    def __init__(self, behaviour: Any, **settings: Any) -> None:
        self.reader = FakeReader()
        self.clock = Clock()
        self.calls: list[list[str]] = []
        self.failures: list[dict[str, Any]] = []
        self.behaviour = behaviour
        self.esm = EventSourceMapping(
            subscription(**settings),
            self.reader,
            self.invoke,
            self.send,
            retry_delay=0,
            clock=self.clock,  # type: ignore[arg-type]
        )

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        ids = [r["dynamodb"]["Keys"]["streamId"]["S"] for r in event["Records"]]
        self.calls.append(ids)
        return self.behaviour(event["Records"], ids)

    def send(self, destination: str, message: dict[str, Any]) -> None:
        assert destination == "dlq"
        self.failures.append(message)

    def run(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.esm.poll()
            if not self.esm.deliver():
                if self.esm.idle:
                    return
                time.sleep(0.005)  # lanes still running on their threads
        raise AssertionError("did not settle")


def ok(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    return {"batchItemFailures": []}


def test_batches_respect_the_batch_size_and_filters() -> None:
    pattern = {"Pattern": json.dumps({"dynamodb": {"Keys": {"streamId": {"S": [{"prefix": "p-"}]}}}})}
    harness = Harness(ok, BatchSize=2, FilterCriteria={"Filters": [pattern]})
    harness.reader.add("p-1", "x-1", "p-2", "p-3")
    harness.run()
    assert harness.calls == [["p-1", "p-2"], ["p-3"]]


def test_partial_failure_resumes_from_the_lowest_failed_record() -> None:
    attempts = {"n": 0}

    def fail_b_once(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] == 1:
            failed = [r for r in records if r["dynamodb"]["Keys"]["streamId"]["S"] in ("b", "d")]
            return {
                "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]
            }
        return ok(records, ids)

    harness = Harness(fail_b_once)
    harness.reader.add("a", "b", "c", "d")
    harness.run()
    assert harness.calls == [["a", "b", "c", "d"], ["b", "c", "d"]]
    assert harness.failures == []


def test_an_unknown_item_identifier_fails_the_whole_batch() -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}, {"batchItemFailures": []}])
    harness = Harness(lambda records, ids: next(answers))
    harness.reader.add("a", "b")
    harness.run()
    assert harness.calls == [["a", "b"], ["a", "b"]]


def test_a_poison_record_is_isolated_by_bisection_then_sent_to_the_on_failure_queue() -> None:
    def poison(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
        if "bad" in ids:
            raise FunctionError("boom")
        return ok(records, ids)

    harness = Harness(poison, MaximumRetryAttempts=2)
    harness.reader.add("a", "b", "bad", "c")
    harness.run()

    assert harness.calls[0] == ["a", "b", "bad", "c"]
    assert ["a", "b"] in harness.calls  # halves
    assert harness.calls.count(["bad"]) == 3  # first try + 2 retries
    assert harness.calls[-1] == ["c"]  # the shard moves on
    [message] = harness.failures
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["responseContext"]["functionError"] == "Unhandled"
    info = message["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        1,
        "00003",
        "00003",
    )
    assert info["streamArn"] == FakeReader.stream_arn


def test_records_older_than_the_maximum_age_are_given_up() -> None:
    harness = Harness(
        lambda records, ids: (_ for _ in ()).throw(FunctionError("down")),
        MaximumRetryAttempts=-1,
        MaximumRecordAgeInSeconds=60,
    )
    harness.reader.add("a", created=1000.0)
    harness.clock.now = 1100.0
    harness.run()
    assert harness.failures[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_the_batching_window_waits_for_more_records() -> None:
    harness = Harness(ok, BatchSize=3, MaximumBatchingWindowInSeconds=5)
    harness.reader.add("a")
    harness.esm.poll()
    assert not harness.esm.deliver()
    harness.reader.add("b", "c")
    harness.esm.poll()
    assert harness.esm.deliver()  # full batch: no need to wait
    harness.reader.add("d")
    harness.esm.poll()
    assert not harness.esm.deliver()
    harness.clock.now += 5
    assert harness.esm.deliver()
    assert harness.calls == [["a", "b", "c"], ["d"]]


def test_parallelization_runs_lanes_concurrently_keeps_keys_in_order_and_isolates_failures() -> None:
    state = {"active": 0, "most": 0}
    lock = threading.Lock()
    seen: list[tuple[str, str]] = []

    def behaviour(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
        with lock:
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
            seen.extend(
                (r["dynamodb"]["Keys"]["streamId"]["S"], r["dynamodb"]["SequenceNumber"]) for r in records
            )
        time.sleep(0.02)
        with lock:
            state["active"] -= 1
        if "stuck" in ids:
            raise FunctionError("poison")
        return {"batchItemFailures": []}

    harness = Harness(behaviour, ParallelizationFactor=4, BatchSize=2, MaximumRetryAttempts=1)
    keys = [f"k{n}" for n in range(8)]
    harness.esm._partition_key = "streamId"
    harness.reader.add(*keys, "stuck", *keys, *keys)
    harness.run()
    harness.esm.close()

    assert state["most"] > 1, "lanes never ran at the same time"
    for key in keys:
        first_deliveries = list(dict.fromkeys(seq for k, seq in seen if k == key))
        assert len(first_deliveries) == 3
        assert first_deliveries == sorted(first_deliveries), key
    [parked] = harness.failures
    assert parked["DDBStreamBatchInfo"]["batchSize"] == 1


def test_the_on_failure_record_has_the_shape_aws_documents() -> None:
    """The keys of the invocation record in the AWS Lambda Developer Guide ("Retain discarded
    records for a DynamoDB event source"), and what the parker reads from it."""
    documented = json.loads(AWS_EXAMPLE)

    def poison(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
        raise FunctionError("boom")

    harness = Harness(poison, MaximumRetryAttempts=0)
    harness.reader.add("a")
    harness.run()

    [message] = harness.failures
    assert message.keys() == documented.keys()
    for part in ("requestContext", "responseContext", "DDBStreamBatchInfo"):
        assert message[part].keys() == documented[part].keys(), part
    parsed = OnFailureRecord.model_validate_json(json.dumps(message))
    assert (parsed.condition, parsed.batch.shard_id, parsed.batch.batch_size) == (
        "RetryAttemptsExhausted",
        "shard-1",
        1,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["timestamp"])
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", message["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"]
    )


def test_a_partial_batch_failure_given_up_names_no_function_error() -> None:
    def fail_all(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]}

    harness = Harness(fail_all, MaximumRetryAttempts=0)
    harness.reader.add("a")
    harness.run()

    [message] = harness.failures
    assert "functionError" not in message["responseContext"]


# ---------------------------------------------------------------------- throttles
# "If a Lambda event source mapping is unable to invoke the function due to throttling or other
# issues, it retries until the records expire or exceed the maximum age configured on the event
# source mapping (MaximumRecordAgeInSeconds)." "Retry attempts [...] doesn't apply to service
# errors or throttles where the batch didn't reach the function." Bisecting is for function errors.
# (docs/local-stack.md, "Reserved concurrency and throttles", has the sources.)


def throttled_for(times: int, then: Any = ok) -> Any:
    left = {"n": times}

    def behaviour(records: list[dict[str, Any]], ids: list[str]) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            raise Throttled("Fn", 0)
        return then(records, ids)

    return behaviour


def step(harness: Harness, *, seconds: float = 10.0) -> bool:
    """One delivery round on the fake clock: read, deliver what is due, then let time pass."""
    harness.esm.poll()
    delivered = harness.esm.deliver()
    harness.clock.now += seconds
    return delivered


def test_a_throttle_keeps_the_position_spends_no_retry_and_never_bisects() -> None:
    harness = Harness(throttled_for(5), MaximumRetryAttempts=0, BisectBatchOnFunctionError=True)
    harness.reader.add("a", "b", "c")
    for _ in range(6):
        step(harness)

    assert harness.calls == [["a", "b", "c"]] * 6  # the whole batch every time, in order
    assert harness.failures == []
    assert harness.esm.idle
    stats = harness.esm.stats
    assert (stats.throttled, stats.failed_invocations, stats.batches, stats.records) == (5, 0, 1, 3)


def test_a_throttled_lane_waits_with_a_capped_backoff() -> None:
    harness = Harness(lambda records, ids: (_ for _ in ()).throw(Throttled("Fn", 0)))
    harness.esm._retry_delay = 0.5
    harness.reader.add("a")
    harness.esm.poll()
    assert harness.esm.deliver()
    assert not harness.esm.deliver()  # backing off: nothing due at the same instant
    [lane] = harness.esm._lanes
    waits = []
    for _ in range(50):
        harness.clock.now = lane.not_before
        assert harness.esm.deliver()
        waits.append(lane.not_before - harness.clock.now)
    assert waits[:2] == [1.0, 1.0]  # 0.5 doubled, then capped
    assert set(waits[2:]) == {EventSourceMapping.THROTTLE_BACKOFF_CAP}
    assert len(harness.calls) == 51
    assert harness.failures == []
    assert not harness.esm.idle


def test_records_still_age_out_while_throttled() -> None:
    harness = Harness(
        lambda records, ids: (_ for _ in ()).throw(Throttled("Fn", 0)),
        MaximumRetryAttempts=-1,
        MaximumRecordAgeInSeconds=60,
    )
    harness.reader.add("a", "b", created=1000.0)
    step(harness, seconds=30)
    step(harness, seconds=31)
    assert harness.failures == []
    step(harness)  # 61 s old: given up

    [message] = harness.failures
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 0  # the function never ran
    assert message["responseContext"]["statusCode"] == 429
    assert "functionError" not in message["responseContext"]
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2
    parsed = OnFailureRecord.model_validate_json(json.dumps(message))
    assert parsed.condition == "RecordAgeExceeded"
    assert harness.esm.idle  # the shard moved on
    assert harness.esm.stats.discarded == 2


def test_only_function_errors_count_against_the_retry_quota() -> None:
    def down(records: list[dict[str, Any]], ids: list[str]) -> Any:
        raise FunctionError("down")

    harness = Harness(throttled_for(4, then=down), MaximumRetryAttempts=1, BisectBatchOnFunctionError=False)
    harness.reader.add("a")
    for _ in range(8):
        step(harness)

    assert len(harness.calls) == 6  # 4 throttles, the first invocation, one retry
    [message] = harness.failures
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 2
    assert message["responseContext"]["functionError"] == "Unhandled"


def test_resume_retries_a_throttled_lane_at_once() -> None:
    """When the function's limit is removed, the mapping does not wait out its backoff."""
    harness = Harness(throttled_for(1))
    harness.esm._retry_delay = 1.0
    harness.reader.add("a")
    harness.esm.poll()
    assert harness.esm.deliver()
    assert not harness.esm.deliver()
    harness.esm.resume()
    assert harness.esm.wakeup.is_set()
    assert harness.esm.deliver()
    assert harness.calls == [["a"], ["a"]]
    assert harness.esm.idle


def test_infinite_retries_and_record_age_never_give_up_and_the_backoff_stays_capped() -> None:
    """``MaximumRetryAttempts: -1`` and ``MaximumRecordAgeInSeconds: -1``: retried until the error is
    fixed (in AWS, until the record leaves the stream after 24 h), however many attempts that takes."""
    failing = {"n": 3000}

    def flaky(records: list[dict[str, Any]], ids: list[str]) -> Any:
        if failing["n"] > 0:
            failing["n"] -= 1
            raise FunctionError("down")
        return ok(records, ids)

    harness = Harness(flaky, MaximumRetryAttempts=-1, MaximumRecordAgeInSeconds=-1)
    harness.esm._retry_delay = 0.05
    harness.reader.add("a", created=1000.0)
    for _ in range(3000):
        step(harness, seconds=5)
        [lane] = harness.esm._lanes
        assert lane.not_before - harness.clock.now <= 2.0
    step(harness)

    assert harness.failures == []
    assert len(harness.calls) == 3001
    assert harness.esm.idle

"""The local SQS event source mapping follows Lambda's rules for an SQS event: a batch of at most
``BatchSize`` messages, succeeded messages deleted, the ``batchItemFailures`` (or every message, if
the function raised) left in the queue for another delivery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.aws.esm import FunctionError, QueueEventSourceMapping, Throttled
from local.aws.template import QueueSubscription, Template
from local.stack.inprocess import emulated_aws


@pytest.fixture
def queue() -> Iterator[tuple[Any, str, str]]:
    with emulated_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="Dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield sqs, url, arn


class Function:
    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.events: list[dict[str, Any]] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        assert function == "Fn"
        self.events.append(event)
        return self.behaviour(event["Records"])


def mapping(queue: tuple[Any, str, str], function: Function, **settings: Any) -> QueueEventSourceMapping:
    sqs, url, arn = queue
    properties = {"BatchSize": 2, "FunctionResponseTypes": ["ReportBatchItemFailures"]} | settings
    return QueueEventSourceMapping(
        QueueSubscription("Fn", "Ev", "Dlq", properties), sqs, url, arn, function, visibility=0
    )


def send(queue: tuple[Any, str, str], *bodies: str) -> None:
    sqs, url, _ = queue
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def left(queue: tuple[Any, str, str]) -> int:
    sqs, url, _ = queue
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_messages_arrive_as_lambda_delivers_an_sqs_event_and_are_deleted_once_handled(queue: Any) -> None:
    function = Function(lambda records: {"batchItemFailures": []})
    esm = mapping(queue, function)
    send(queue, "one", "two", "three")

    while esm.deliver():
        pass

    bodies = [[r["body"] for r in event["Records"]] for event in function.events]
    assert sorted(b for batch in bodies for b in batch) == ["one", "three", "two"]
    assert all(len(batch) <= 2 for batch in bodies)
    record = function.events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue[2]
    assert {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "awsRegion",
    } <= record.keys()
    assert left(queue) == 0
    assert not esm.deliver()


def test_the_batch_item_failures_stay_in_the_queue_and_come_back(queue: Any) -> None:
    def fail_two(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "two"]
        }

    function = Function(fail_two)
    esm = mapping(queue, function, BatchSize=10)
    send(queue, "one", "two")

    assert esm.deliver()
    assert left(queue) == 1
    assert esm.deliver()  # visible again (visibility 0 here), delivered again
    assert [r["body"] for r in function.events[-1]["Records"]] == ["two"]
    assert esm.stats.returned == 2


def test_a_function_error_leaves_the_whole_batch_in_the_queue(queue: Any) -> None:
    def raising(records: list[dict[str, Any]]) -> dict[str, Any]:
        raise FunctionError("boom")

    esm = mapping(queue, Function(raising), BatchSize=10)
    send(queue, "one", "two")

    assert esm.deliver()
    assert left(queue) == 2
    assert esm.stats.failed_invocations == 1


def test_a_throttle_leaves_every_message_in_the_queue_and_they_come_back(queue: Any) -> None:
    """Throttled (reserved concurrency): the batch reached no function; the messages stay, are
    received again once visible, and are handled when the function may run."""
    answers: list[Any] = [Throttled("Fn", 0), {"batchItemFailures": []}]

    def throttled_once(records: list[dict[str, Any]]) -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    function = Function(throttled_once)
    esm = mapping(queue, function, BatchSize=10)
    send(queue, "one", "two")

    esm.deliver()
    assert left(queue) == 2
    assert (esm.stats.throttled, esm.stats.failed_invocations, esm.stats.batches) == (1, 0, 0)
    assert esm.deliver()
    assert left(queue) == 0
    assert [sorted(r["body"] for r in event["Records"]) for event in function.events] == [["one", "two"]] * 2


def test_an_unknown_item_identifier_leaves_the_whole_batch(queue: Any) -> None:
    esm = mapping(
        queue, Function(lambda records: {"batchItemFailures": [{"itemIdentifier": "nope"}]}), BatchSize=10
    )
    send(queue, "one", "two")

    assert esm.deliver()
    assert left(queue) == 2


def test_every_sqs_event_of_the_template_reads_a_queue_of_the_template(template: Template) -> None:
    subscriptions = template.queue_subscriptions
    assert {s.function for s in subscriptions} == {s.function for s in template.subscriptions}
    assert all(s.queue in template.queues for s in subscriptions)

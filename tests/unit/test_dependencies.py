"""The SDK's budget for one call, and which of its failures mean "the dependency did not answer"
(``shop.dependencies``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from local.aws.template import Template
from shop import ddb, dependencies, runtime, secrets
from shop.dependencies import Translating, unavailable
from shop.errors import DependencyUnavailable
from shop.streams import TIME_RESERVE_MS


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Query"
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("InternalServerError", 500),
        client_error("ServiceUnavailable", 503),
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
        client_error("RequestLimitExceeded"),
        client_error("InternalServiceError", 500),
        client_error("SomethingNew", 502),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
    ids=repr,
)
def test_no_answer_throttling_and_server_failures_are_unavailable(error: Exception) -> None:
    assert unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ConditionalCheckFailedException"),
        client_error("TransactionCanceledException"),
        client_error("ValidationException"),
        client_error("ResourceNotFoundException"),
        client_error("AccessDeniedException"),
        ParamValidationError(report="bad"),
        ValueError("not the SDK's"),
    ],
    ids=repr,
)
def test_answers_and_mistakes_are_not(error: Exception) -> None:
    assert not unavailable(error)


class FakeClient:
    class meta:  # noqa: N801 - what boto3 clients have
        method_to_api_mapping = {"query": "Query", "put_item": "PutItem"}  # noqa: RUF012

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.region = "eu-west-1"

    def query(self, **_: Any) -> Any:
        raise self.error

    def put_item(self, **_: Any) -> Any:
        return {"ok": True}


def test_a_translating_client_raises_dependency_unavailable_with_the_sdk_error_as_cause() -> None:
    error = client_error("ThrottlingException")
    client = Translating(FakeClient(error), "DynamoDB")
    with pytest.raises(DependencyUnavailable) as raised:
        client.query(TableName="Orders")
    assert raised.value.dependency == "DynamoDB Orders"
    assert raised.value.reason == "ThrottlingException"
    assert raised.value.__cause__ is error
    assert client.put_item(TableName="Orders") == {"ok": True}
    assert client.region == "eu-west-1"  # not an operation: as it is


def test_other_sdk_errors_pass_through_unchanged() -> None:
    error = client_error("ConditionalCheckFailedException")
    with pytest.raises(ClientError) as raised:
        Translating(FakeClient(error), "DynamoDB").query(TableName="Orders")
    assert raised.value is error


@pytest.fixture
def clients() -> Any:
    runtime.reset()
    yield
    runtime.reset()


@pytest.mark.usefixtures("clients")
def test_every_client_keeps_to_the_budget() -> None:
    for client in (ddb.client(), ddb.streams_client(), secrets.client()):
        config = client.meta.config
        assert config.retries == {"total_max_attempts": dependencies.ATTEMPTS, "mode": "standard"}
        assert config.connect_timeout == dependencies.CONNECT_TIMEOUT
        assert config.read_timeout == dependencies.READ_TIMEOUT


@pytest.mark.usefixtures("clients")
def test_a_call_is_tried_exactly_the_budgets_attempts_then_raises() -> None:
    """Counted at the SDK's last step: standard mode's "max attempts" is the total, first included."""
    sent: list[str] = []

    def throttled(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "x"})

        class Raw:
            def stream(self, **_: Any) -> Any:
                yield body.encode()

        return AWSResponse(request.url, 400, {}, Raw())

    client = ddb.client()
    client.meta.events.register_first("before-send.dynamodb", throttled, unique_id="throttled")
    try:
        with pytest.raises(DependencyUnavailable):
            client.get_item(TableName="T", Key={"k": {"S": "v"}})
    finally:
        client.meta.events.unregister("before-send.dynamodb", unique_id="throttled")
    assert len(sent) == dependencies.ATTEMPTS == 2


def test_the_worst_call_fits_well_inside_the_http_timeout_and_the_consumers_budget() -> None:
    """attempts x (connect + read) + backoff = 2 x (1 + 1.5) + 1 = 6 s: a table that does not answer
    is a 503 with 4 s of the HTTP functions' 10 s left, never a Lambda timeout."""
    assert dependencies.MAX_BACKOFF == 1
    assert dependencies.WORST_CALL_SECONDS == 2 * (1.0 + 1.5) + 1 == 6
    template = Template()
    consumers = {subscription.function for subscription in template.subscriptions}
    for name, function in template.functions.items():
        timeout = function.properties["Timeout"]
        if name in consumers:  # a record starts with at least TIME_RESERVE_MS left
            assert dependencies.WORST_CALL_SECONDS <= TIME_RESERVE_MS / 1000 <= timeout / 5, name
        else:
            assert 0.6 * timeout >= dependencies.WORST_CALL_SECONDS, name

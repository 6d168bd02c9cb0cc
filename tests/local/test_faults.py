"""The AWS endpoint's fault switch: while a table is faulted, every DynamoDB request that names it
answers a DynamoDB error (500 ``InternalServerError`` unless told otherwise), which botocore retries
as it would in AWS; everything else is served as usual."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws.endpoint import FaultSwitch, tables_named
from local.stack.control import LocalControl

Answer = tuple[str, dict[str, str], bytes]


class Moto:
    """Stands in for moto: records the bodies it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


def request(app: FaultSwitch, method: str, path: str, body: Any = None, target: str = "") -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        **({"HTTP_X_AMZ_TARGET": target} if target else {}),
    }
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        started.update(status=status, headers=dict(headers))

    answer = b"".join(app(environ, start_response))
    return started["status"], started["headers"], answer


def dynamodb(app: FaultSwitch, operation: str, body: dict[str, Any]) -> Answer:
    return request(app, "POST", "/", body, target=f"DynamoDB_20120810.{operation}")


@pytest.fixture
def switch() -> tuple[FaultSwitch, Moto]:
    moto = Moto()
    return FaultSwitch(moto), moto


def test_a_faulted_table_answers_every_request_naming_it_with_dynamodbs_500(
    switch: tuple[FaultSwitch, Moto],
) -> None:
    app, moto = switch
    assert request(app, "POST", "/_local/faults", {"table": "Store"})[0].startswith("200")

    status, headers, body = dynamodb(app, "GetItem", {"TableName": "Store", "Key": {}})
    assert status == "500 Internal Server Error"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-RequestId"]
    assert json.loads(body) == {
        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "message": "Internal server error",
    }
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Store"
    for operation, named in [
        ("PutItem", {"TableName": arn, "Item": {}}),
        ("BatchWriteItem", {"RequestItems": {"Other": [], "Store": []}}),
        ("BatchGetItem", {"RequestItems": {arn: {"Keys": []}}}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "Other"}}, {"ConditionCheck": {"TableName": "Store"}}]},
        ),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "Store"}}]}),
        ("ExecuteStatement", {"Statement": 'SELECT * FROM "Store" WHERE id = ?'}),
    ]:
        assert dynamodb(app, operation, named)[0].startswith("500"), operation
    assert moto.bodies == []

    other = {"TableName": "Other", "Key": {"id": {"S": "x"}}}
    assert dynamodb(app, "GetItem", other)[0].startswith("200")
    assert moto.bodies == [json.dumps(other).encode()]  # handed on whole


def test_streams_and_other_services_are_not_faulted(switch: tuple[FaultSwitch, Moto]) -> None:
    """The switch fails the table, not its stream: records already written still reach consumers."""
    app, moto = switch
    request(app, "POST", "/_local/faults", {"table": "Store"})
    stream = {"StreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/Store/stream/2026"}
    assert request(app, "POST", "/", stream, target="DynamoDBStreams_20120810.DescribeStream")[0].startswith(
        "200"
    )
    assert request(app, "POST", "/", b"Action=ListQueues")[0].startswith("200")
    assert len(moto.bodies) == 2


def test_the_switch_lists_sets_clears_and_chooses_the_error(switch: tuple[FaultSwitch, Moto]) -> None:
    app, _ = switch
    assert json.loads(request(app, "GET", "/_local/faults")[2]) == {"faults": {}}
    request(app, "POST", "/_local/faults", {"table": "A"})
    request(app, "POST", "/_local/faults", {"table": "B", "error": "ThrottlingException"})
    assert json.loads(request(app, "GET", "/_local/faults")[2]) == {
        "faults": {"A": "InternalServerError", "B": "ThrottlingException"}
    }
    status, _, body = dynamodb(app, "Query", {"TableName": "B"})
    assert (status[:3], json.loads(body)["__type"].rsplit("#")[-1]) == ("400", "ThrottlingException")

    assert json.loads(request(app, "DELETE", "/_local/faults/A")[2]) == {
        "faults": {"B": "ThrottlingException"}
    }
    assert dynamodb(app, "Query", {"TableName": "A"})[0].startswith("200")
    assert json.loads(request(app, "DELETE", "/_local/faults")[2]) == {"faults": {}}
    assert dynamodb(app, "Query", {"TableName": "B"})[0].startswith("200")

    for bad in ({"table": ""}, {"table": "A", "error": "Gremlins"}, [], b"{"):
        assert request(app, "POST", "/_local/faults", bad)[0].startswith("400"), bad
    assert request(app, "PUT", "/_local/faults")[0].startswith("405")


def test_tables_named_finds_every_table_of_a_request() -> None:
    assert tables_named({"TableName": "A"}) == {"A"}
    assert tables_named({"RequestItems": {"A": [], "arn:aws:dynamodb:r:1:table/B": []}}) == {"A", "B"}
    assert tables_named(
        {"TransactItems": [{"Update": {"TableName": "C"}}, {"Delete": {"TableName": "D"}}]}
    ) == {
        "C",
        "D",
    }
    assert tables_named({"Statements": [{"Statement": "INSERT INTO E VALUE {'a': 1}"}]}) == {"E"}
    assert tables_named({"ResourceArn": "arn:aws:dynamodb:r:1:table/F"}) == {"F"}
    assert tables_named({"Limit": 3}) == set()


# ---------------------------------------------------------------------- on the moto server


@pytest.fixture
def control(moto_endpoint: str) -> Iterator[LocalControl]:
    running = LocalControl(aws_endpoint=moto_endpoint)
    yield running
    running.clear_faults()


def test_botocore_retries_a_faulted_table_then_raises_its_error(
    control: LocalControl, moto_endpoint: str
) -> None:
    client = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, config=Config(retries={"mode": "legacy", "max_attempts": 2})
    )
    faulted, healthy = f"faulted-{uuid.uuid4().hex[:8]}", f"healthy-{uuid.uuid4().hex[:8]}"
    for table in (faulted, healthy):
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    item = {"id": {"S": "1"}}

    with control.faulted(faulted):
        assert control.faults() == {faulted: "InternalServerError"}
        with pytest.raises(ClientError) as failed:
            client.put_item(TableName=faulted, Item=item)
        assert failed.value.response["Error"]["Code"] == "InternalServerError"
        assert failed.value.response["ResponseMetadata"]["RetryAttempts"] == 2  # retried, as in AWS
        client.put_item(TableName=healthy, Item=item)
    assert control.faults() == {}
    client.put_item(TableName=faulted, Item=item)
    assert client.get_item(TableName=faulted, Key=item)["Item"] == item

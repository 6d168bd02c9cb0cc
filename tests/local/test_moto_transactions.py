"""The emulated DynamoDB keeps DynamoDB's promises to stream readers (docs/moto-transactions.md).

Each test runs against both places moto backs our code: the moto server of ``local/aws/endpoint.py``
(``make run``, e2e tests, the ``moto_endpoint`` fixture) and in-process ``mock_aws`` as
``local/stack/inprocess.py`` sets it up (the ``stack`` fixture). A cancelled transaction leaves no stream
record visible to any iterator, including one taken before it; a committed one appears exactly
once; a sequence number always names the same record.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.aws.esm import StreamReader
from local.stack.inprocess import emulated_aws


@dataclass
class Aws:
    dynamodb: Any
    streams: Any
    #: sequence number -> eventID of every record any read in the test has seen
    seen: dict[str, str] = field(default_factory=dict)

    def table(self, *, range_key: bool = True) -> Table:
        name = f"t-{uuid.uuid4().hex[:10]}"
        keys = [("pk", "HASH", "S")] + ([("sk", "RANGE", "N")] if range_key else [])
        description = self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": a, "KeyType": k} for a, k, _ in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, _, t in keys],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        return Table(self, name, description["LatestStreamArn"], range_key)


@dataclass
class Table:
    aws: Aws
    name: str
    stream_arn: str
    range_key: bool

    def key(self, pk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"N": "1"}} if self.range_key else {"pk": {"S": pk}}

    def put(self, pk: str, **attributes: str) -> dict[str, Any]:
        item = self.key(pk) | {name: {"S": value} for name, value in attributes.items()}
        condition = "attribute_not_exists(pk)"
        return {"Put": {"TableName": self.name, "Item": item, "ConditionExpression": condition}}

    def item(self, pk: str) -> dict[str, Any] | None:
        found = self.aws.dynamodb.get_item(TableName=self.name, Key=self.key(pk), ConsistentRead=True)
        return found.get("Item")

    def iterator(self, kind: str = "TRIM_HORIZON", **position: str) -> str:
        shard = self.aws.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        return self.aws.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=kind, **position
        )["ShardIterator"]

    def records(self, iterator: str) -> list[dict[str, Any]]:
        """The records the iterator reaches; each is checked against every record seen before."""
        records: list[dict[str, Any]] = self.aws.streams.get_records(ShardIterator=iterator)["Records"]
        for record in records:
            sequence, event_id = record["dynamodb"]["SequenceNumber"], record["eventID"]
            assert self.aws.seen.setdefault(f"{self.name}/{sequence}", event_id) == event_id, (
                f"sequence number {sequence} names two different records"
            )
        return records

    def read(self, iterator: str) -> list[tuple[str, str]]:
        """(eventName, pk) of the records the iterator reaches."""
        return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in self.records(iterator)]

    def history(self) -> list[tuple[str, str]]:
        return self.read(self.iterator())


@pytest.fixture(params=["endpoint", "mock_aws"])
def aws(request: pytest.FixtureRequest) -> Iterator[Aws]:
    if request.param == "endpoint":
        url = request.getfixturevalue("moto_endpoint")
        yield Aws(*(boto3.client(service, endpoint_url=url) for service in ("dynamodb", "dynamodbstreams")))
        return
    with emulated_aws():
        yield Aws(boto3.client("dynamodb"), boto3.client("dynamodbstreams"))


def cancel(aws: Aws, items: list[dict[str, Any]], **request: Any) -> list[dict[str, Any]]:
    with pytest.raises(ClientError) as raised:
        aws.dynamodb.transact_write_items(TransactItems=items, **request)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    return list(raised.value.response["CancellationReasons"])


def test_a_cancelled_transaction_leaves_no_record_even_for_an_iterator_taken_before_it(aws: Aws) -> None:
    table = aws.table()
    aws.dynamodb.transact_write_items(TransactItems=[table.put("taken")])
    from_start = table.iterator()
    from_latest = table.iterator("LATEST")

    cancel(aws, [table.put("phantom"), table.put("taken")])  # the first passes, the second fails
    aws.dynamodb.transact_write_items(TransactItems=[table.put("real")])

    assert table.read(from_start) == [("INSERT", "taken"), ("INSERT", "real")]
    assert table.read(from_latest) == [("INSERT", "real")]
    assert table.history() == [("INSERT", "taken"), ("INSERT", "real")]
    assert table.item("phantom") is None


def test_a_reader_between_its_iterator_and_its_records_never_sees_a_cancelled_write(aws: Aws) -> None:
    """What ``StreamReader`` does on every poll: GetShardIterator, then GetRecords in another request."""
    table = aws.table()
    aws.dynamodb.put_item(TableName=table.name, Item=table.key("taken"))
    [taken] = table.records(table.iterator())
    sequence = taken["dynamodb"]["SequenceNumber"]
    iterator = table.iterator("AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence)

    cancel(aws, [table.put("phantom"), table.put("taken")])
    assert table.read(iterator) == []

    aws.dynamodb.put_item(TableName=table.name, Item=table.key("real"))
    fresh = table.iterator("AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence)
    assert table.read(fresh) == [("INSERT", "real")]


def test_a_committed_transaction_appears_exactly_once(aws: Aws) -> None:
    orders, stock = aws.table(), aws.table(range_key=False)
    aws.dynamodb.put_item(TableName=stock.name, Item=stock.key("product") | {"state": {"S": "active"}})
    before_orders, before_stock = orders.iterator("LATEST"), stock.iterator("LATEST")

    aws.dynamodb.transact_write_items(
        TransactItems=[
            orders.put("order-1"),
            orders.put("order-2"),
            {
                "ConditionCheck": {
                    "TableName": stock.name,
                    "Key": stock.key("product"),
                    "ConditionExpression": "#s = :active",
                    "ExpressionAttributeNames": {"#s": "state"},
                    "ExpressionAttributeValues": {":active": {"S": "active"}},
                }
            },
        ]
    )

    assert orders.read(before_orders) == [("INSERT", "order-1"), ("INSERT", "order-2")]
    assert orders.history() == [("INSERT", "order-1"), ("INSERT", "order-2")]
    assert stock.read(before_stock) == []  # a condition check writes nothing
    assert stock.history() == [("INSERT", "product")]


def test_every_condition_is_checked_before_anything_is_written(aws: Aws) -> None:
    """The first item passes and the second fails: nothing is written, in either table or stream."""
    orders, stock = aws.table(), aws.table(range_key=False)
    aws.dynamodb.put_item(TableName=orders.name, Item=orders.key("order-1") | {"status": {"S": "PENDING"}})
    aws.dynamodb.put_item(TableName=stock.name, Item=stock.key("product") | {"units": {"N": "1"}})
    before_orders, before_stock = orders.iterator(), stock.iterator()
    confirm = {
        "Update": {
            "TableName": orders.name,
            "Key": orders.key("order-1"),
            "UpdateExpression": "SET #s = :confirmed",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":confirmed": {"S": "CONFIRMED"}},
        }
    }
    reserve_two = {
        "Update": {
            "TableName": stock.name,
            "Key": stock.key("product"),
            "UpdateExpression": "SET units = units - :two",
            "ConditionExpression": "units >= :two",
            "ExpressionAttributeValues": {":two": {"N": "2"}},
        }
    }

    reasons = cancel(aws, [orders.put("order-2"), confirm, reserve_two])

    assert [r["Code"] for r in reasons] == ["None", "None", "ConditionalCheckFailed"]
    assert orders.item("order-2") is None
    assert orders.item("order-1") == orders.key("order-1") | {"status": {"S": "PENDING"}}
    assert stock.item("product") == stock.key("product") | {"units": {"N": "1"}}
    assert orders.read(before_orders) == [("INSERT", "order-1")]
    assert stock.read(before_stock) == [("INSERT", "product")]


def test_the_failed_item_comes_back_when_asked_and_every_other_reason_is_none(aws: Aws) -> None:
    """What the event store relies on to recognise its own repeated transaction (same token)."""
    table = aws.table()
    first = [table.put("a", commit="c-1"), table.put("b", commit="c-1")]
    for item in first:
        item["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    aws.dynamodb.transact_write_items(TransactItems=first, ClientRequestToken="c-1")

    reasons = cancel(aws, first, ClientRequestToken="c-1")  # moto keeps no tokens: the conditions answer

    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "ConditionalCheckFailed"]
    assert [r["Message"] for r in reasons] == ["The conditional request failed"] * 2
    assert [r["Item"]["commit"] for r in reasons] == [{"S": "c-1"}, {"S": "c-1"}]
    reasons = cancel(aws, [table.put("c"), table.put("a")])
    assert reasons[0] == {"Code": "None"}
    assert "Item" not in reasons[1]  # not asked for
    assert table.history() == [("INSERT", "a"), ("INSERT", "b")]


def test_a_write_that_fails_after_every_check_passed_leaves_no_trace(aws: Aws) -> None:
    """A type error only the update itself finds: the earlier Put is undone, in the stream too."""
    orders, stock = aws.table(), aws.table(range_key=False)
    aws.dynamodb.put_item(TableName=stock.name, Item=stock.key("product") | {"units": {"N": "1"}})
    before_orders, before_stock = orders.iterator(), stock.iterator()
    add_text_to_number = {
        "Update": {
            "TableName": stock.name,
            "Key": stock.key("product"),
            "UpdateExpression": "ADD units :text",
            "ExpressionAttributeValues": {":text": {"S": "one"}},
        }
    }

    with pytest.raises(ClientError) as raised:
        aws.dynamodb.transact_write_items(TransactItems=[orders.put("order-1"), add_text_to_number])

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert orders.item("order-1") is None
    assert stock.item("product") == stock.key("product") | {"units": {"N": "1"}}
    assert orders.read(before_orders) == []
    assert stock.read(before_stock) == [("INSERT", "product")]
    aws.dynamodb.transact_write_items(TransactItems=[orders.put("order-2")])
    assert orders.history() == [("INSERT", "order-2")]


def test_an_update_that_creates_its_item_is_one_insert(aws: Aws) -> None:
    table = aws.table(range_key=False)
    update = {
        "TableName": table.name,
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"N": "1"}},
    }
    aws.dynamodb.update_item(Key=table.key("a"), **update)
    aws.dynamodb.transact_write_items(TransactItems=[{"Update": {"Key": table.key("b"), **update}}])
    aws.dynamodb.update_item(Key=table.key("a"), **update)

    assert table.history() == [("INSERT", "a"), ("INSERT", "b"), ("MODIFY", "a")]
    records = table.records(table.iterator())
    assert records[0]["dynamodb"]["NewImage"] == table.key("a") | {"v": {"N": "1"}}
    assert len({r["dynamodb"]["SequenceNumber"] for r in records}) == 3


def test_concurrent_cancelled_transactions_never_reach_a_stream_reader(aws: Aws) -> None:
    """Writers race for the same keys (most transactions are cancelled) while a ``StreamReader``
    polls: it delivers each committed item exactly once and nothing else."""
    table = aws.table()
    reader = StreamReader(aws.streams, table.stream_arn)
    delivered: list[str] = []
    refusals: list[str] = []
    done = threading.Event()

    def write(writer: int) -> None:
        for n in range(30):
            # every writer claims the same two keys per round; at most one wins each round
            items = [table.put(f"w{writer}-{n}"), table.put(f"round-{n}")]
            try:
                aws.dynamodb.transact_write_items(TransactItems=items)
            except ClientError as error:
                refusals.append(error.response["Error"]["Code"])

    def read() -> None:
        while not done.is_set():
            delivered.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read())

    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    polling = threading.Thread(target=read)
    polling.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    polling.join()
    delivered.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read())

    stored = [i["pk"]["S"] for i in aws.dynamodb.scan(TableName=table.name, ConsistentRead=True)["Items"]]
    assert sorted(delivered) == sorted(stored)
    assert len(stored) == 60  # each round: one winner's two items
    assert refusals == ["TransactionCanceledException"] * 60


def test_shard_iterators_expire_after_15_minutes_instead_of_piling_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto kept every iterator (two per poll) for the life of the process."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends  # noqa: PLC0415

    from local.aws import moto_patches  # noqa: PLC0415

    now = [0.0]
    monkeypatch.setattr(moto_patches, "clock", lambda: now[0])
    with emulated_aws():
        aws = Aws(boto3.client("dynamodb"), boto3.client("dynamodbstreams"))
        table = aws.table()
        old = table.iterator()
        for _ in range(50):  # an idle reader's polls, a minute apart
            now[0] += 60
            aws.streams.get_records(ShardIterator=table.iterator("LATEST"))

        with pytest.raises(ClientError) as raised:
            aws.streams.get_records(ShardIterator=old)
        assert raised.value.response["Error"]["Code"] == "ExpiredIteratorException"
        backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
        assert len(backend.shard_iterators) <= 2 * 16  # 15 minutes of polls, each with its next iterator

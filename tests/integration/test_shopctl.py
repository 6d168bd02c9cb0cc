"""``shopctl`` against a stack on the moto server (``--endpoint-url``, tables with a test prefix):
every subcommand's answer, and its exit code for each kind of failure (docs/operations.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from local.stack.inprocess import emulated_aws
from local.stack.stack import Stack
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.model import EventMetadata, NewEvent
from shopctl import errors
from shopctl.app import app
from tests.support.replay import check, read_snapshot

runner = CliRunner()


def shopctl(stack: Stack, *arguments: str) -> Any:
    return runner.invoke(
        app, [*arguments, "--endpoint-url", stack.clients.endpoint_url, "--prefix", stack.prefix]
    )


def document(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def create_products(stack: Stack, count: int) -> list[str]:
    ids = []
    for number in range(count):
        body = {
            "sku": f"CLI-{number}",
            "name": f"Product {number}",
            "category": "cli",
            "price": {"amount": 100 + number, "currency": "EUR"},
        }
        created = stack.command("POST", "/products", body)
        assert created.status == 201, created.body
        product = json.loads(created.body)["productId"]
        assert stack.command("POST", f"/products/{product}/stock", {"quantity": 5}).status == 200
        assert (
            stack.command("PUT", f"/products/{product}/price", {"amount": 7, "currency": "EUR"}).status == 200
        )
        ids.append(product)
    return ids


def physical(stack: Stack) -> dict[str, str]:
    return {logical: f"{stack.prefix}{logical}" for logical in stack.template.tables}


def test_events_prints_a_streams_events_with_their_metadata(server_stack: Stack) -> None:
    (product,) = create_products(server_stack, 1)
    answer = document(shopctl(server_stack, "events", f"product-{product}", "--json"))
    assert answer["store"] == "CatalogEventStore"
    assert [(e["version"], e["type"]) for e in answer["events"]] == [
        (1, "ProductCreated"),
        (2, "ProductPriceChanged"),
    ]
    first = answer["events"][0]
    assert first["data"]["sku"] == "CLI-0"
    assert first["metadata"]["actor"] == server_stack.sub("admin")
    assert first["metadata"]["correlationId"]
    assert first["metadata"]["causationId"]
    later = document(shopctl(server_stack, "events", f"product-{product}", "--after", "1", "--json"))
    assert [e["version"] for e in later["events"]] == [2]
    table = shopctl(server_stack, "events", f"stock-{product}")
    assert table.exit_code == 0
    assert "StockReceived" in table.output


def test_a_stream_no_store_holds_is_exit_code_4(server_stack: Stack) -> None:
    result = shopctl(server_stack, "events", "product-none", "--json")
    assert result.exit_code == errors.NO_SUCH_STREAM == 4
    assert json.loads(result.output)["error"] == "no-such-stream"


def test_an_unknown_table_is_exit_code_3(server_stack: Stack) -> None:
    for arguments in (
        ("rebuild", "NoSuchView"),
        ("rebuild", "CatalogEventStore"),
        ("lag", "--table", "Nope"),
    ):
        result = shopctl(server_stack, *arguments)
        assert result.exit_code == errors.UNKNOWN_RESOURCE == 3, (arguments, result.output)
    assert "is not a read table" in shopctl(server_stack, "rebuild", "CatalogEventStore").output


def test_an_endpoint_that_does_not_answer_is_exit_code_5() -> None:
    result = runner.invoke(app, ["lag", "--endpoint-url", "http://127.0.0.1:9", "--json"])
    assert result.exit_code == errors.UNREACHABLE == 5
    assert json.loads(result.output)["error"] == "unreachable"


@pytest.mark.parametrize(
    "target", [[], ["--endpoint-url", "http://127.0.0.1:9", "--stack-name", "shop"]], ids=["none", "both"]
)
def test_naming_no_target_or_two_is_a_usage_error(target: list[str]) -> None:
    result = runner.invoke(app, ["events", "product-1", *target])
    assert result.exit_code == errors.USAGE == 2


@pytest.mark.parametrize("url", ["notaurl", "127.0.0.1:4566", "ftp://127.0.0.1:4566", "http://"])
def test_an_endpoint_url_that_is_no_url_is_a_usage_error_without_a_traceback(url: str) -> None:
    result = runner.invoke(app, ["lag", "--endpoint-url", url])
    assert result.exit_code == errors.USAGE, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "arguments", [["events", ""], ["events", " "], ["rebuild", "ProductsView", "--into", ""]]
)
def test_an_empty_stream_id_or_table_name_is_a_usage_error(arguments: list[str]) -> None:
    result = runner.invoke(app, [*arguments, "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == errors.USAGE, result.output


def test_create_without_into_is_a_usage_error() -> None:
    result = runner.invoke(
        app, ["rebuild", "ProductsView", "--create", "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == errors.USAGE


def test_every_subcommand_has_help_and_json() -> None:
    for subcommand in ("lag", "events", "rebuild"):
        result = runner.invoke(app, [subcommand, "--help"])
        assert result.exit_code == 0
        assert "--json" in result.output
        assert "--endpoint-url" in result.output


def test_lag_shows_what_a_projector_has_not_applied_and_nothing_once_it_has(server_stack: Stack) -> None:
    products = create_products(server_stack, 2)
    consumers = {c["consumer"]: c for c in document(shopctl(server_stack, "lag", "--json"))["consumers"]}
    assert set(consumers) == {m.function for m in server_stack.mappings}
    catalog = consumers["CatalogProjector"]
    assert (catalog["kind"], catalog["store"], catalog["readTable"]) == (
        "projector",
        "CatalogEventStore",
        "ProductsView",
    )
    assert (catalog["streams"], catalog["streamsBehind"], catalog["eventsBehind"]) == (4, 4, 6)
    assert catalog["oldestPendingSeconds"] >= 0
    assert consumers["OrderIntakePolicy"]["kind"] == "policy"
    server_stack.pump()
    settled = document(shopctl(server_stack, "lag", "--table", "ProductsView", "--json"))["consumers"]
    assert [(c["consumer"], c["streamsBehind"], c["eventsBehind"]) for c in settled] == [
        ("CatalogProjector", 0, 0)
    ]
    # The local stack publishes IteratorAge per consumer, as Lambda does: the age of the last
    # record of each invocation (these records are seconds old at most).
    assert 0 <= settled[0]["iteratorAgeMs"] < 120_000
    assert products


def test_rebuild_in_place_restores_deleted_rows_to_their_replay(server_stack: Stack, tmp_path: Path) -> None:
    products = create_products(server_stack, 6)
    server_stack.pump()
    dynamodb = server_stack.clients.dynamodb
    for product in products[:4]:
        dynamodb.delete_item(
            TableName=f"{server_stack.prefix}ProductsView", Key={"productId": {"S": product}}
        )
    assert not check(read_snapshot(dynamodb, physical(server_stack))).ok
    answer = document(
        shopctl(
            server_stack,
            "rebuild",
            "ProductsView",
            "--segments",
            "3",
            "--json",
            "--state-file",
            str(tmp_path / "p.json"),
        )
    )
    assert (answer["commits"], answer["events"], answer["rowsWritten"]) == (18, 18, 8)  # 4 rows x 2 streams
    assert answer["failures"] == []
    report = check(read_snapshot(dynamodb, physical(server_stack)))
    assert report.ok, report.summary()
    saved = json.loads((tmp_path / "p.json").read_text())
    assert saved["segments"] == 3
    assert all(p["done"] for p in saved["positions"].values())


def test_rebuild_into_a_fresh_table_equals_the_live_one_and_refuses_to_reuse_it(
    server_stack: Stack, tmp_path: Path
) -> None:
    create_products(server_stack, 3)
    server_stack.pump()
    fresh = f"{server_stack.prefix}ProductsViewNext"
    state = ["--state-file", str(tmp_path / "fresh.json")]
    answer = document(
        shopctl(server_stack, "rebuild", "ProductsView", "--into", fresh, "--create", "--json", *state)
    )
    assert (answer["target"], answer["rowsWritten"]) == (fresh, 6)
    dynamodb = server_stack.clients.dynamodb
    indexes = dynamodb.describe_table(TableName=fresh)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in indexes} == {"ByCategory", "ByName"}
    report = check(read_snapshot(dynamodb, {**physical(server_stack), "ProductsView": fresh}))
    assert report.ok, report.summary()

    again = shopctl(server_stack, "rebuild", "ProductsView", "--into", fresh, "--json", *state)
    assert again.exit_code == errors.CONFLICT == 6
    assert "not empty" in json.loads(again.output)["message"]
    created_twice = shopctl(server_stack, "rebuild", "ProductsView", "--into", fresh, "--create", *state)
    assert created_twice.exit_code == errors.CONFLICT
    missing = shopctl(server_stack, "rebuild", "ProductsView", "--into", f"{fresh}-not-there", *state)
    assert missing.exit_code == errors.UNKNOWN_RESOURCE
    itself = shopctl(server_stack, "rebuild", "ProductsView", "--into", "ProductsView", *state)
    assert itself.exit_code == errors.CONFLICT


@pytest.mark.parametrize("other", ["CatalogSnapshotStore", "IdempotencyTable", "OrdersView"])
def test_a_fresh_table_with_another_key_schema_is_refused_before_anything_is_read(
    server_stack: Stack, tmp_path: Path, other: str
) -> None:
    """An empty table of the stack that is not shaped like the read table (another key) is no target:
    refused up front, not tried stream by stream, and no positions are left behind."""
    state = tmp_path / "other.json"
    empty = f"{server_stack.prefix}Empty{other}"
    definition = server_stack.clients.dynamodb.describe_table(TableName=f"{server_stack.prefix}{other}")[
        "Table"
    ]
    server_stack.clients.dynamodb.create_table(
        TableName=empty,
        AttributeDefinitions=[
            a
            for a in definition["AttributeDefinitions"]
            if a["AttributeName"] in {k["AttributeName"] for k in definition["KeySchema"]}
        ],
        KeySchema=definition["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
    )
    result = shopctl(
        server_stack, "rebuild", "ProductsView", "--into", empty, "--json", "--state-file", str(state)
    )
    assert result.exit_code == errors.CONFLICT, result.output
    assert "key" in json.loads(result.output)["message"]
    assert not state.exists()


def test_resume_needs_the_positions_of_the_same_rebuild(server_stack: Stack, tmp_path: Path) -> None:
    create_products(server_stack, 1)
    state = tmp_path / "positions.json"
    none_yet = shopctl(server_stack, "rebuild", "ProductsView", "--resume", "--state-file", str(state))
    assert none_yet.exit_code == errors.CONFLICT
    assert "nothing to resume" in none_yet.output
    assert (
        shopctl(
            server_stack, "rebuild", "ProductsView", "--segments", "2", "--state-file", str(state)
        ).exit_code
        == 0
    )
    other = shopctl(
        server_stack, "rebuild", "ProductsView", "--resume", "--segments", "3", "--state-file", str(state)
    )
    assert other.exit_code == errors.CONFLICT
    assert "another rebuild" in other.output
    done = document(
        shopctl(
            server_stack,
            "rebuild",
            "ProductsView",
            "--resume",
            "--segments",
            "2",
            "--json",
            "--state-file",
            str(state),
        )
    )
    assert (done["resumedSegmentsDone"], done["events"]) == (2, 0)


STACK_TEMPLATE = {
    "Resources": {
        "CatalogEventStore": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "streamId", "AttributeType": "S"},
                    {"AttributeName": "version", "AttributeType": "N"},
                ],
                "KeySchema": [
                    {"AttributeName": "streamId", "KeyType": "HASH"},
                    {"AttributeName": "version", "KeyType": "RANGE"},
                ],
            },
        }
    }
}


def test_a_deployed_stack_is_named_by_stack_name_and_its_physical_names_come_from_cloudformation() -> None:
    with emulated_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName="shop-test", TemplateBody=json.dumps(STACK_TEMPLATE))
        resource = cloudformation.describe_stack_resource(
            StackName="shop-test", LogicalResourceId="CatalogEventStore"
        )
        physical = resource["StackResourceDetail"]["PhysicalResourceId"]
        assert physical != "CatalogEventStore"
        store = DynamoDBEventStore(boto3.client("dynamodb", region_name="us-east-1"), physical)
        store.append("product-9", 0, [NewEvent("ProductDiscontinued", {})], EventMetadata("c", "r", "a"))

        found = runner.invoke(
            app, ["events", "product-9", "--stack-name", "shop-test", "--region", "us-east-1", "--json"]
        )
        assert [e["type"] for e in document(found)["events"]] == ["ProductDiscontinued"]
        missing_table = runner.invoke(
            app, ["rebuild", "ProductsView", "--stack-name", "shop-test", "--region", "us-east-1"]
        )
        assert missing_table.exit_code == errors.UNKNOWN_RESOURCE
        assert "stack shop-test" in missing_table.output
        no_stack = runner.invoke(
            app, ["lag", "--stack-name", "no-such-stack", "--region", "us-east-1", "--json"]
        )
        assert no_stack.exit_code == errors.UNREACHABLE
        assert "no stack 'no-such-stack'" in json.loads(no_stack.output)["message"]


@pytest.mark.parametrize(
    "content",
    [
        "{garbage",
        "[]",
        '{"readTable": "ProductsView", "positions": "x"}',
        '{"readTable": "ProductsView", "positions": {"zero": {"start": null, "done": false}}}',
        '{"readTable": "ProductsView", "positions": {"0": "x"}}',
    ],
)
def test_a_positions_file_that_is_no_rebuild_s_is_a_conflict_not_a_traceback(
    tmp_path: Path, content: str
) -> None:
    """Found by the issue 11 break-it pass: docs/rebuild.md says the file may be read and moved by
    hand, and a hand-spoiled one raised a JSONDecodeError or AttributeError (exit 1, a traceback)."""
    from shopctl.errors import Conflict  # noqa: PLC0415
    from shopctl.positions import FilePositions  # noqa: PLC0415

    path = tmp_path / "positions.json"
    path.write_text(content)
    with pytest.raises(Conflict, match="not the positions of a rebuild"):
        FilePositions.resumed(path, {"readTable": "ProductsView"})

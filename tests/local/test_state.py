"""The local stack's event-store journals (``local.stack.state``): what is written, what comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.aws.template import Template, table_definition
from local.stack.inprocess import emulated_aws
from local.stack.state import EventStoreJournal
from shop.eventstore.codec import encode_commit
from shop.eventstore.model import EventMetadata, NewEvent

META = EventMetadata("corr", "cause", "actor")


def commit(stream_id: str, version: int) -> dict[str, Any]:
    return encode_commit(stream_id, version - 1, [NewEvent("StockReceived", {"quantity": version})], META)


def insert(item: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"NewImage": item}}


def test_new_commits_are_appended_once_each_and_other_records_not_at_all(tmp_path: Path) -> None:
    journal = EventStoreJournal(tmp_path, ["CatalogEventStore"])
    first, second = commit("stock-1", 1), commit("stock-1", 2)
    assert journal.record("CatalogEventStore", [insert(first), {"eventName": "MODIFY", "dynamodb": {}}]) == 1
    assert journal.record("CatalogEventStore", [insert(first), insert(second)]) == 1
    journal.close()
    lines = (tmp_path / "CatalogEventStore.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [first, second]
    assert journal.commits() == 2


def test_a_line_cut_short_is_skipped_and_the_rest_comes_back(tmp_path: Path) -> None:
    whole = [commit("stock-1", 1), commit("stock-1", 2)]
    path = tmp_path / "CatalogEventStore.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in whole) + '{"streamId": {"S": "sto')
    logged: list[str] = []
    journal = EventStoreJournal(tmp_path, ["CatalogEventStore"], logged.append)
    assert journal.read("CatalogEventStore") == whole
    assert logged == ["state: CatalogEventStore.jsonl line 3 is incomplete; skipped"]


def test_restore_writes_every_commit_back_and_does_not_journal_it_again(tmp_path: Path) -> None:
    items = [commit(f"stock-{n}", v) for n in range(30) for v in (1, 2)]
    (tmp_path / "CatalogEventStore.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    journal = EventStoreJournal(tmp_path, ["CatalogEventStore", "CartEventStore"])
    with emulated_aws():
        import boto3  # noqa: PLC0415 - inside mock_aws

        client = boto3.client("dynamodb")
        template = Template()
        for store in ("CatalogEventStore", "CartEventStore"):
            client.create_table(**table_definition(store, template.tables[store]))
        restored = journal.restore(
            client, {"CatalogEventStore": "CatalogEventStore", "CartEventStore": "CartEventStore"}
        )
        assert restored == {"CatalogEventStore": 60, "CartEventStore": 0}
        stored = client.scan(TableName="CatalogEventStore")["Items"]
        assert sorted(json.dumps(i, sort_keys=True) for i in stored) == sorted(
            json.dumps(i, sort_keys=True) for i in items
        )
    # The stream then delivers the restored commits again: not one is appended twice.
    assert journal.record("CatalogEventStore", [insert(item) for item in items]) == 0
    assert len((tmp_path / "CatalogEventStore.jsonl").read_text().splitlines()) == 60


def test_a_commit_journaled_after_a_line_cut_short_comes_back(tmp_path: Path) -> None:
    """Found by the issue 11 break-it pass: after a `kill -9` cut the last line short, the next
    commit was appended onto the fragment, so it was skipped with it at the following start (a cart
    answered 201, then lost)."""
    path = tmp_path / "CatalogEventStore.jsonl"
    first = commit("stock-1", 1)
    path.write_text(json.dumps(first) + "\n" + '{"streamId": {"S": "sto')
    logged: list[str] = []
    journal = EventStoreJournal(tmp_path, ["CatalogEventStore"], logged.append)
    journal.read("CatalogEventStore")
    later = commit("stock-1", 2)
    assert journal.record("CatalogEventStore", [insert(later)]) == 1
    journal.close()

    again = EventStoreJournal(tmp_path, ["CatalogEventStore"])
    assert again.read("CatalogEventStore") == [first, later]
    assert again.skipped == {}
    assert any("cut short" in line for line in logged), logged


def test_lines_that_do_not_read_are_counted_for_the_ready_message(tmp_path: Path) -> None:
    """A spoiled line in the middle is corruption, not a cut: the start says so, not only the log."""
    path = tmp_path / "CatalogEventStore.jsonl"
    path.write_text(
        json.dumps(commit("stock-1", 1)) + "\n{spoiled\n" + json.dumps(commit("stock-1", 3)) + "\n"
    )
    journal = EventStoreJournal(tmp_path, ["CatalogEventStore"])
    assert len(journal.read("CatalogEventStore")) == 2
    assert journal.skipped == {"CatalogEventStore": [2]}

"""An in-process stack whose functions' DynamoDB clients are wrapped, and request helpers
(``bench.snapshots``). Every operation's cost is ``bench.cost``'s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from bench.capacity import Recorder, RecordingClient
from local.stack.inprocess import in_process_stack
from local.stack.stack import Stack
from shop import runtime


@contextmanager
def recorded_stack(recording: type[RecordingClient] = RecordingClient) -> Iterator[tuple[Stack, Recorder]]:
    """An in-process stack whose functions' DynamoDB clients are wrapped in ``recording``."""
    recorder = Recorder()
    with in_process_stack() as stack:
        real_client = boto3.client

        def read_back(table: str, key: Any) -> Any:
            return stack.clients.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

        def client(service: str, *args: Any, **kwargs: Any) -> Any:
            made = real_client(service, *args, **kwargs)
            return recording(made, recorder, read_back) if service == "dynamodb" else made

        boto3.client = client  # type: ignore[assignment]
        runtime.reset()
        try:
            yield stack, recorder
        finally:
            boto3.client = real_client  # type: ignore[assignment]


def product_body(sku: str, name: str, category: str = "kitchen") -> dict[str, Any]:
    return {
        "sku": sku,
        "name": name,
        "description": "Porcelain espresso cup, 80 ml, dishwasher safe.",
        "category": category,
        "price": {"amount": 1299, "currency": "EUR"},
    }


def expect(status: int, response: Any) -> Any:
    if response.status != status:
        raise RuntimeError(f"expected {status}, got {response.status}: {response.body!r}")
    return response

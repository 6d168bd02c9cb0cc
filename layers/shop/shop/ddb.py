"""The DynamoDB adapters' common ground: the process's low-level client, and plain Python values <->
``AttributeValue`` maps.

Numbers come back as ``int`` (the shop stores no fractional numbers), never as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from shop.dependencies import Translating, client_config
from shop.runtime import cached

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


@cached
def client() -> DynamoDBClient:
    """The DynamoDB client of this execution environment, built on first use (``runtime.reset()``
    forgets it). The adapters take it themselves (``for_table``), so the wiring names tables only.
    Its calls keep to ``shop.dependencies``' budget and raise ``DependencyUnavailable`` when DynamoDB
    does not answer."""
    import boto3  # noqa: PLC0415 - imported on first use, not at cold start of every module

    return cast("DynamoDBClient", Translating(boto3.client("dynamodb", config=client_config()), "DynamoDB"))


@cached
def streams_client() -> DynamoDBStreamsClient:
    """The DynamoDB Streams client of this execution environment (the parker reads records back
    with it: ``shop.operations.parking_dynamodb``), built on first use."""
    import boto3  # noqa: PLC0415

    client = boto3.client("dynamodbstreams", config=client_config())
    return cast("DynamoDBStreamsClient", Translating(client, "DynamoDB Streams"))


@cache
def _serializer() -> TypeSerializer:
    from boto3.dynamodb.types import TypeSerializer  # noqa: PLC0415 - boto3 only where used

    return TypeSerializer()


@cache
def _deserializer() -> TypeDeserializer:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    return TypeDeserializer()


def to_attribute(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], _serializer().serialize(value))


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: to_attribute(value) for name, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    deserializer = _deserializer()
    return {name: _plain(deserializer.deserialize(cast(Any, value))) for name, value in item.items()}

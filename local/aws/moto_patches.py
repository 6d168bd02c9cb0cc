"""Fixes to moto's DynamoDB so that stream readers see what DynamoDB would show them, and to its
Cognito user pools so that they keep strangers out as the template's pool does.

``apply()`` (idempotent) is called by the moto server of ``local/aws/endpoint.py`` and by
``local/stack/inprocess.py`` before ``mock_aws``. What it changes, and why (docs/moto-transactions.md):

* ``TransactWriteItems`` checks every item first (its condition, and one operation per item)
  against the current state, and writes nothing unless all pass. moto writes item by item and, when
  one fails, puts back a deep copy of every table it touched: the table's live stream shard keeps the
  cancelled writes' records (an iterator taken earlier reads them) and the restored copy hands their
  sequence numbers to the next writes. moto's deep copy also costs time in proportion to the table.
* A write that fails after every check passed (a validation error only the write itself finds, e.g.
  ``ADD`` of a string to a number) is undone from a log of the items it changed, and the table's one
  shard is cut back to its length before the transaction.
* ``UpdateItem`` that creates its item adds one ``INSERT`` record, not two (moto first stores a
  key-only item, with a record of its own).
* Transactions, single-item writes and stream reads run under one lock. The endpoint already
  serialises requests; in process (``mock_aws``) this keeps threads from seeing half a transaction.
* Shard iterators expire 15 minutes after they are handed out, as in DynamoDB Streams
  (``ExpiredIteratorException``). moto keeps every iterator for the life of the process: two per
  poll, about 3.7 KB, so an idle ``make run`` grew by some 400 MB an hour.

* ``SignUp`` to a pool whose ``AdminCreateUserConfig`` has ``AllowAdminCreateUserOnly: true`` fails
  with ``NotAuthorizedException`` ("SignUp is not permitted for this user pool"), as in Cognito.
  moto ignores the setting: anyone holding the app client id signed up, confirmed with any code,
  signed in and got a token the authorizer grants.
* Every user pool gets the RSA key moto bundles, as before, but parsed once per process: moto parsed
  it for each new pool (0.14 s of CPU, half of creating the template's resources for a test's stack).

The request-level validation moto does before a transaction (expressions, empty keys) is unchanged;
so are the cancellation reasons' shape and codes. moto keeps no ``ClientRequestToken``s: a repeated
transaction meets its own first attempt's items and fails its conditions, as before.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import moto.cognitoidp.models as cognito_models
from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.models import CognitoIdpBackend
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

#: Held by every patched call; re-entrant because a transaction calls the single-item writes.
LOCK = threading.RLock()

MAX_TRANSACTION_ITEMS = 100
#: DynamoDB Streams: "A shard iterator expires 15 minutes after it is returned to the requester."
ITERATOR_LIFETIME = 15 * 60.0
#: What iterator ages are measured with (tests replace it).
clock: Callable[[], float] = time.monotonic
_OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")
_PATCHED = "_local_patched"

#: A cancellation reason as moto's ``TransactionCanceledException`` takes it: code, message, item.
Reason = tuple[str | None, str | None, dict[str, Any] | None]
PASSED: Reason = (None, None, None)


@dataclass
class _Operation:
    kind: str
    request: dict[str, Any]
    key: dict[str, Any]


def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items``, all-or-nothing for stream readers too."""
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException
    operations, reasons = _check(backend, transact_items)
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    _write(backend, operations)


def _check(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> tuple[list[_Operation], list[Reason]]:
    """Every item's reason, in moto's order and with moto's codes, from the current state; no writes."""
    operations: list[_Operation] = []
    reasons: list[Reason] = []
    targets: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        kind, request = next(iter(entry.items()))
        try:
            key = _key(backend, kind, request)
            _claim(targets, request["TableName"], key)
            reasons.append(_condition(backend, request, key))
            operations.append(_Operation(kind, request, key))
        except MockValidationException:  # the whole request is invalid, as in moto
            raise
        except Exception as error:  # moto reports any other error as that item's reason
            reasons.append((type(error).__name__, str(error), None))
    return operations, reasons


def _key(backend: DynamoDBBackend, kind: str, request: dict[str, Any]) -> dict[str, Any]:
    if kind not in _OPERATIONS:
        raise ValueError("Unsupported transaction operation")
    if kind != "Put":
        return dict(request["Key"])
    table = backend.get_table(request["TableName"])
    item = request["Item"]
    return {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name is not None}


def _claim(targets: set[tuple[str, str]], table_name: str, key: dict[str, Any]) -> None:
    """One operation per item in a transaction."""
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException
    targets.add(target)


def _condition(backend: DynamoDBBackend, request: dict[str, Any], key: dict[str, Any]) -> Reason:
    current = backend.get_item(request["TableName"], key)
    expression = request.get("ConditionExpression")
    if expression is None:
        return PASSED
    condition = get_filter_expression(
        expression, request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return PASSED
    asked = request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
    item = current.to_json()["Attributes"] if asked and current is not None else None
    return ("ConditionalCheckFailed", ConditionalCheckFailed().message, item)


def _write(backend: DynamoDBBackend, operations: list[_Operation]) -> None:
    """Apply checked operations; if one still fails, undo the others and fail as moto would."""
    undo = _Undo()
    reasons: list[Reason] = []
    try:
        for operation in operations:
            if operation.kind == "ConditionCheck":
                reasons.append(PASSED)
                continue
            undo.remember(backend, operation.request["TableName"], operation.key)
            try:
                _apply(backend, operation)
            except MockValidationException:
                raise
            except Exception as error:  # moto: that item's reason, and the others still run
                reasons.append((type(error).__name__, str(error), None))
            else:
                reasons.append(PASSED)
    except BaseException:
        undo.rollback()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.rollback()
        raise TransactionCanceledException(reasons)


def _apply(backend: DynamoDBBackend, operation: _Operation) -> None:
    request = operation.request
    condition = {
        "condition_expression": request.get("ConditionExpression"),
        "expression_attribute_names": request.get("ExpressionAttributeNames"),
        "expression_attribute_values": request.get("ExpressionAttributeValues"),
    }
    if operation.kind == "Put":
        backend.put_item(request["TableName"], request["Item"], **condition)
    elif operation.kind == "Delete":
        backend.delete_item(request["TableName"], operation.key, **condition)
    else:
        backend.update_item(
            request["TableName"], operation.key, update_expression=request["UpdateExpression"], **condition
        )


@dataclass
class _Undo:
    """The items a transaction changes, as they were, and each touched shard's length before it."""

    items: list[tuple[Table, Any, Any, Any]] = field(default_factory=list)
    shards: dict[int, tuple[StreamShard, int]] = field(default_factory=dict)

    def remember(self, backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        before = copy.deepcopy(table.get_item(hash_key, range_key))  # updates change items in place
        self.items.append((table, hash_key, range_key, before))
        shard = table.stream_shard
        if shard is not None:
            self.shards.setdefault(id(shard), (shard, len(shard.items)))

    def rollback(self) -> None:
        for table, hash_key, range_key, before in reversed(self.items):
            if table.range_key_attr is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
            elif before is not None:
                table.items[hash_key][range_key] = before
            elif hash_key in table.items:
                table.items[hash_key].pop(range_key, None)
        for shard, length in self.shards.values():
            del shard.items[length:]  # the same list object: every iterator's shard loses them


def _one_insert(update_item: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``update_item`` on a missing item stores a key-only item first, which adds its own
    INSERT record before the real one: drop it and give the real record its sequence number."""

    @functools.wraps(update_item)
    def patched(backend: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        shard = backend.get_table(table_name).stream_shard
        records = shard.items if shard is not None else None
        before = len(records) if records is not None else 0
        result = update_item(backend, table_name, *args, **kwargs)
        if shard is not None and records is shard.items and len(records) == before + 2:
            del records[before]
            sequence = shard.starting_sequence_number + before
            records[before].record["dynamodb"]["SequenceNumber"] = str(sequence)
        return result

    return patched


class ExpiredIteratorException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("ExpiredIteratorException", "The shard iterator has expired or does not exist.")


def _issued(backend: DynamoDBStreamsBackend, iterator_arn: str) -> None:
    issued: deque[tuple[float, str]] | None = getattr(backend, "local_issued_iterators", None)
    if issued is None:  # a fresh backend (moto resets them by clearing their attributes)
        issued = backend.local_issued_iterators = deque()
    issued.append((clock(), iterator_arn))
    while issued and issued[0][0] < clock() - ITERATOR_LIFETIME:
        backend.shard_iterators.pop(issued.popleft()[1], None)


def _expiring_iterators(get_shard_iterator: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_shard_iterator)
    def patched(backend: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> Any:
        iterator = get_shard_iterator(backend, *args, **kwargs)
        _issued(backend, iterator.arn)
        return iterator

    return patched


def _expiring_next_iterators(get_records: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_records)
    def patched(backend: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> Any:
        if iterator_arn not in backend.shard_iterators:
            raise ExpiredIteratorException  # moto: a KeyError, answered with a 500
        result = get_records(backend, iterator_arn, limit)
        _issued(backend, result["NextShardIterator"])
        return result

    return patched


def _admins_only_sign_up(sign_up: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ``sign_up``, refused for a pool that only administrators may add users to."""

    @functools.wraps(sign_up)
    def patched(backend: CognitoIdpBackend, client_id: str, *args: Any, **kwargs: Any) -> Any:
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                config = pool.extended_config.get("AdminCreateUserConfig") or {}
                if config.get("AllowAdminCreateUserOnly") is True:
                    raise NotAuthorizedError("SignUp is not permitted for this user pool")
        return sign_up(backend, client_id, *args, **kwargs)

    return patched


class _KeysParsedOnce:
    """Stands in for ``joserfc.jwk`` in moto's Cognito models, whose only use of it is
    ``jwk.RSAKey.import_key(<the bundled private key>)`` in every new user pool."""

    def __init__(self, jwk: Any) -> None:
        self._jwk = jwk
        self._parsed: dict[str, Any] = {}
        self.RSAKey = self

    def import_key(self, value: Any) -> Any:
        text = json.dumps(value, sort_keys=True)
        if text not in self._parsed:
            self._parsed[text] = self._jwk.RSAKey.import_key(value)
        return self._parsed[text]


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    setattr(locked, _PATCHED, True)
    return locked


def apply() -> None:
    """Patch moto's DynamoDB, DynamoDB Streams and Cognito backends in this process (once)."""
    with LOCK:
        if getattr(DynamoDBBackend.transact_write_items, _PATCHED, False):
            return
        DynamoDBBackend.update_item = _locked(_one_insert(DynamoDBBackend.update_item))
        for name in ("put_item", "delete_item"):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
        streams = DynamoDBStreamsBackend
        streams.describe_stream = _locked(streams.describe_stream)
        streams.get_shard_iterator = _locked(_expiring_iterators(streams.get_shard_iterator))
        streams.get_records = _locked(_expiring_next_iterators(streams.get_records))
        CognitoIdpBackend.sign_up = _admins_only_sign_up(CognitoIdpBackend.sign_up)
        cognito_models.jwk = _KeysParsedOnce(cognito_models.jwk)  # type: ignore[assignment]
        DynamoDBBackend.transact_write_items = _locked(transact_write_items)

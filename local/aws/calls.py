"""Which AWS calls each function makes, for the IAM coverage check (``tests/support/iam.py``).

moto does not enforce IAM, so a call the function's role would be denied in AWS succeeds here.
This records every call with the function it was made for; the tests then hold each one against
the function's policy in the SAM-translated template.

Two ways calls get here:

* function code: ``install()`` wraps botocore's ``BaseClient._make_api_call``; a call is recorded
  while ``acting_as(function)`` is in effect (``InProcessInvoker`` sets it around each invoke; a
  worker process sets it once for its function);
* the event source mapping: ``local.stack.stack`` calls ``record`` for what Lambda does with the
  function's execution role (reading the stream, sending the on-failure record).

Records go to every registered sink: a list (tests that run functions in process) or, when
``LOCAL_CALL_LOG`` names a file, one JSON line per call appended to it (the local stack's process
and its workers). Only the request parameters that name resources are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The functions a call made now is made for (empty: nobody's; the call is not recorded).
current_functions: ContextVar[tuple[str, ...]] = ContextVar("local_current_functions", default=())

#: Request parameters that name the resource a call acts on (a secret's ``SecretId``: ARN or name).
_NAMES = ("TableName", "IndexName", "StreamArn", "QueueUrl", "QueueName", "SecretId")


@dataclass(frozen=True)
class Call:
    function: str  # logical id
    service: str  # botocore's service name: dynamodb, dynamodbstreams, sqs, secretsmanager
    operation: str  # the API operation: PutItem, TransactWriteItems, GetRecords
    params: Mapping[str, Any]  # only what names resources (see ``resource_params``)

    def to_json(self) -> str:
        return json.dumps(
            {"function": self.function, "service": self.service, "operation": self.operation, **self.params}
        )

    @classmethod
    def from_json(cls, line: str) -> Call:
        document = json.loads(line)
        return cls(document.pop("function"), document.pop("service"), document.pop("operation"), document)


def resource_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that name tables, indexes, streams and queues, also inside batches and
    transactions (``RequestItems`` keys; each ``TransactItems`` entry's kind and table)."""
    kept: dict[str, Any] = {name: params[name] for name in _NAMES if name in params}
    if isinstance(params.get("RequestItems"), Mapping):
        kept["RequestItems"] = {table: {} for table in params["RequestItems"]}
    if isinstance(params.get("TransactItems"), Sequence):
        kept["TransactItems"] = [
            {kind: {"TableName": action.get("TableName")} for kind, action in item.items()}
            for item in params["TransactItems"]
        ]
    return kept


Sink = Callable[[Call], None]
_sinks: list[Sink] = []
_sinks_lock = threading.Lock()


def add_sink(sink: Sink) -> None:
    with _sinks_lock:
        _sinks.append(sink)


def remove_sink(sink: Sink) -> None:
    with _sinks_lock:
        _sinks.remove(sink)


def record(functions: Sequence[str], service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Record one call made for each of ``functions``; a no-op while nothing listens."""
    with _sinks_lock:
        sinks = list(_sinks)
    if not sinks or not functions:
        return
    kept = resource_params(params)
    for function in functions:
        call = Call(function, service, operation, kept)
        for sink in sinks:
            sink(call)


@contextlib.contextmanager
def acting_as(*functions: str) -> Iterator[None]:
    """Calls made in this context (this thread, this task) are made for ``functions``."""
    token = current_functions.set(functions)
    try:
        yield
    finally:
        current_functions.reset(token)


_patched: set[type] = set()


def install() -> None:
    """Record every botocore call made while ``acting_as`` is in effect (idempotent)."""
    from botocore.client import BaseClient  # noqa: PLC0415 - only processes that record need botocore

    with _sinks_lock:
        if BaseClient in _patched:
            return
        _patched.add(BaseClient)
        original = BaseClient._make_api_call  # noqa: SLF001

        def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            functions = current_functions.get()
            service = self.meta.service_model.service_name
            if functions:
                record(functions, service, operation_name, _with_stream(service, operation_name, api_params))
            response = original(self, operation_name, api_params)
            if functions and service == "dynamodbstreams":
                _remember_iterators(operation_name, api_params, response)
            return response

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]  # noqa: SLF001


#: Shard iterator -> the stream it reads: ``GetRecords`` names only an iterator, but IAM authorises
#: it on the stream (the function's own reads, e.g. the parker's; the mapping's say it themselves).
_iterators: dict[str, str] = {}
_ITERATORS_KEPT = 10_000


def _with_stream(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if service == "dynamodbstreams" and operation == "GetRecords" and "StreamArn" not in params:
        stream = _iterators.get(str(params.get("ShardIterator")))
        if stream is not None:
            return {**params, "StreamArn": stream}
    return params


def _remember_iterators(operation: str, params: Mapping[str, Any], response: Mapping[str, Any]) -> None:
    stream = params.get("StreamArn") if operation == "GetShardIterator" else None
    if operation == "GetRecords":
        stream = _iterators.get(str(params.get("ShardIterator")))
    iterator = response.get("ShardIterator") or response.get("NextShardIterator")
    if stream and iterator:
        with _sinks_lock:
            if len(_iterators) >= _ITERATORS_KEPT:
                _iterators.pop(next(iter(_iterators)))
            _iterators[str(iterator)] = str(stream)


class CallList:
    """A sink that keeps calls in memory (thread-safe)."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)


@contextlib.contextmanager
def collecting() -> Iterator[CallList]:
    """Record into a fresh ``CallList`` for the duration."""
    sink = CallList()
    add_sink(sink)
    try:
        yield sink
    finally:
        remove_sink(sink)


class CallFile:
    """A sink appending one JSON line per call. Each line is one ``write`` on an ``O_APPEND``
    descriptor, so any number of threads and processes can share the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def __call__(self, call: Call) -> None:
        os.write(self._fd, (call.to_json() + "\n").encode())


class CallFileReader:
    """Reads a call log as it grows: each ``new_calls()`` returns the complete lines since the last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def new_calls(self) -> list[Call]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        return [Call.from_json(line) for line in complete.decode().splitlines() if line]


#: The environment variable naming the file calls are appended to.
LOG_VARIABLE = "LOCAL_CALL_LOG"


def record_from_environment(function: str | None = None) -> None:
    """If ``LOCAL_CALL_LOG`` is set: append calls to that file and, in a function's process
    (``function`` given), record every call the process makes as made by that function."""
    path = os.environ.get(LOG_VARIABLE)
    if not path:
        return
    add_sink(CallFile(Path(path)))
    if function is not None:
        install()
        current_functions.set((function,))

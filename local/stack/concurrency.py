"""Reserved concurrency, as Lambda applies it: a function's limit, and the invocations it refuses.

``ReservedConcurrency`` holds each function's ``ReservedConcurrentExecutions`` (set through the
local Lambda endpoint, ``local.stack.lambda_api``, or directly in tests) and counts the invocations
in flight; ``ThrottlingInvoker`` wraps the stack's ``Invoker`` so that every invocation (an HTTP
route, a stream or queue event source mapping, the Lambda API's ``Invoke``) takes a slot first, or
is refused with ``Throttled`` when the function already runs as many as its limit allows (0: every
invocation). The limits live in memory: a restart forgets them.

``throttled_response`` is what a throttled function's HTTP route answers locally (503): in AWS an
HTTP API answers 500 ``{"message":"Internal Server Error"}`` (docs/local-stack.md).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from local.aws.apigw import HttpResponse
from local.aws.esm import Throttled
from local.stack.invokers import Invoker

#: Lambda's default concurrency quota per account and Region ...
ACCOUNT_CONCURRENCY = 1000
#: ... of which reservations must leave this much unreserved ("UnreservedConcurrentExecution").
MINIMUM_UNRESERVED = 100
#: What a throttle tells its caller to wait, in seconds (``Retry-After``).
RETRY_AFTER = 1

Listener = Callable[[str], None]


class InvalidConcurrency(ValueError):
    """Lambda's ``InvalidParameterValueException`` for ``ReservedConcurrentExecutions``."""


class ReservedConcurrency:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, int] = {}
        self._in_flight: Counter[str] = Counter()
        self._listeners: list[Listener] = []

    def put(self, function: str, limit: int) -> int:
        """``PutFunctionConcurrency``: the function may run at most ``limit`` invocations at once."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidConcurrency(
                f"ReservedConcurrentExecutions must be a whole number of at least 0, not {limit!r}."
            )
        with self._lock:
            others = sum(n for name, n in self._limits.items() if name != function)
            if ACCOUNT_CONCURRENCY - others - limit < MINIMUM_UNRESERVED:
                raise InvalidConcurrency(
                    "Specified ReservedConcurrentExecutions for function decreases account's"
                    f" UnreservedConcurrentExecution below its minimum value of [{MINIMUM_UNRESERVED}]."
                )
            self._limits[function] = limit
        self._changed(function)
        return limit

    def get(self, function: str) -> int | None:
        """``GetFunctionConcurrency``: the limit, or None when the function has no reservation."""
        with self._lock:
            return self._limits.get(function)

    def delete(self, function: str) -> None:
        """``DeleteFunctionConcurrency``: no limit (the account's unreserved pool)."""
        with self._lock:
            removed = self._limits.pop(function, None)
        if removed is not None:
            self._changed(function)

    def limits(self) -> dict[str, int]:
        with self._lock:
            return dict(self._limits)

    def in_flight(self, function: str) -> int:
        with self._lock:
            return self._in_flight[function]

    def subscribe(self, listener: Listener) -> None:
        """``listener(function)`` after each change of a function's limit."""
        self._listeners.append(listener)

    def _changed(self, function: str) -> None:
        for listener in self._listeners:
            listener(function)

    @contextmanager
    def slot(self, function: str) -> Iterator[None]:
        """One invocation of ``function`` in flight for the duration, or ``Throttled`` at once."""
        with self._lock:
            limit = self._limits.get(function)
            if limit is not None and self._in_flight[function] >= limit:
                raise Throttled(function, limit, RETRY_AFTER)
            self._in_flight[function] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[function] -= 1


class ThrottlingInvoker:
    """An ``Invoker`` that applies reserved concurrency before the wrapped one runs the function."""

    def __init__(self, inner: Invoker, concurrency: ReservedConcurrency) -> None:
        self.inner = inner
        self.concurrency = concurrency

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        with self.concurrency.slot(function):
            return self.inner.invoke(function, event)


def throttled_response(error: Throttled) -> HttpResponse:
    """A throttled function's route, locally: 503 problem+json with ``Retry-After`` (spec, section 4).
    API Gateway itself answers 500 ``{"message":"Internal Server Error"}`` here."""
    body = {
        "type": "urn:shop:problem:function-throttled",
        "title": "Service Unavailable",
        "status": 503,
        "detail": f"{error.function} is throttled (reserved concurrency {error.limit}); try again later.",
    }
    headers = {
        "Content-Type": "application/problem+json",
        "Retry-After": str(error.retry_after),
        "Cache-Control": "no-store",
    }
    return HttpResponse(503, headers, json.dumps(body).encode())

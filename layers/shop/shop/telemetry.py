"""Metrics (CloudWatch embedded metric format) and traces (X-Ray), through Powertools, built on first use.

Importing this module imports nothing of Powertools: every handler's cold start would pay for
Metrics and Tracer (and Tracer, with tracing on, for the X-Ray SDK and its patching of botocore)
before its first request. ``instrumented`` (the handler factories wrap every Lambda entry point
with it) builds them inside the first invocation that needs them:

* **Tracer** only when tracing is on (``POWERTOOLS_TRACE_DISABLED`` is not true): then the handler
  runs under ``Tracer.capture_lambda_handler``. With it off, ``aws_xray_sdk`` is never imported.
* **Metrics**: code counts with ``count`` (and ``lag``) into the invocation; at its end the counts
  go out as one EMF document (namespace ``POWERTOOLS_METRICS_NAMESPACE``, ``Shop`` by default;
  dimension ``service`` = ``POWERTOOLS_SERVICE_NAME``), each projection lag as one more (dimensions
  ``service`` and ``consumer``). Nothing is built or written when nothing was counted or when
  metrics are disabled (``POWERTOOLS_METRICS_DISABLED``, or ``POWERTOOLS_DEV`` without it).
  Outside an invocation (``shopctl``, tests calling the batch code) counting does nothing.

The names are fixed: template.yaml's alarms and dashboard read them (``Metric``). Application code
counts through ``count`` (a function of this module, which knows no Powertools until it flushes),
never through Powertools itself (the import contracts in pyproject.toml).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer

#: Namespace of the metrics when ``POWERTOOLS_METRICS_NAMESPACE`` is not set (template.yaml sets it).
DEFAULT_NAMESPACE = "Shop"
#: Dimension of every metric: the function's ``POWERTOOLS_SERVICE_NAME``.
SERVICE = "service"
#: Extra dimension of ``ProjectionLag``: the projector's logical function name (``CartProjector``).
CONSUMER = "consumer"

#: What the X-Ray SDK patches when tracing is on: the AWS SDK's calls (DynamoDB, Secrets Manager).
PATCHED_MODULES = ("botocore",)

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Metric(StrEnum):
    """Every metric the shop emits (unit ``Count`` but for ``ProjectionLag``, in milliseconds)."""

    #: A command function answered 2xx.
    COMMAND_ACCEPTED = "CommandAccepted"
    #: A command function answered 4xx (the caller's request or a rule of the shop).
    COMMAND_REJECTED = "CommandRejected"
    #: A command function answered 5xx (503s included).
    COMMAND_FAILED = "CommandFailed"
    #: An HTTP function answered 503 because a table or secret did not answer.
    DEPENDENCY_UNAVAILABLE = "DependencyUnavailable"
    #: A decision was taken again after a concurrent writer won the race.
    CONCURRENCY_RETRY = "ConcurrencyRetry"
    #: Concurrent writers kept winning: the command gave up (409).
    CONCURRENCY_CONFLICT = "ConcurrencyConflict"
    #: A keyed command was answered from its first run (``Idempotent-Replayed: true``).
    IDEMPOTENT_REPLAY = "IdempotentReplay"
    #: Now minus ``occurredAt`` of the newest event a projector applied in a batch.
    PROJECTION_LAG = "ProjectionLag"
    #: Stream records a consumer parked (docs/parking.md).
    RECORDS_PARKED = "RecordsParked"


@dataclass
class _Invocation:
    counts: dict[Metric, float] = field(default_factory=dict)
    lags: dict[str, float] = field(default_factory=dict)


_current: ContextVar[_Invocation | None] = ContextVar("shop_telemetry_invocation", default=None)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def metrics_enabled() -> bool:
    """Powertools' rule: off with ``POWERTOOLS_METRICS_DISABLED``, or ``POWERTOOLS_DEV`` without it."""
    if "POWERTOOLS_METRICS_DISABLED" in os.environ:
        return not _flag("POWERTOOLS_METRICS_DISABLED")
    return not _flag("POWERTOOLS_DEV")


def tracing_enabled() -> bool:
    return not _flag("POWERTOOLS_TRACE_DISABLED")


def count(metric: Metric, value: float = 1) -> None:
    """Add ``value`` to ``metric`` in this invocation (nothing outside one)."""
    invocation = _current.get()
    if invocation is not None:
        invocation.counts[metric] = invocation.counts.get(metric, 0) + value


def lag(consumer: str, milliseconds: float) -> None:
    """This invocation's ``ProjectionLag`` for ``consumer`` (the last one given counts)."""
    invocation = _current.get()
    if invocation is not None:
        invocation.lags[consumer] = max(0.0, milliseconds)


@functools.cache
def metrics() -> Metrics:
    """The process's Powertools ``Metrics``, built at the first flush."""
    from aws_lambda_powertools.metrics import Metrics  # noqa: PLC0415 - on first use, not at cold start

    return Metrics(namespace=_namespace())


@functools.cache
def tracer() -> Tracer:
    """The process's Powertools ``Tracer``, built in the first invocation with tracing on (this is
    where the X-Ray SDK is imported and botocore patched). Only botocore: the shop makes no other
    calls X-Ray's patchers know (``patch_all`` would import and patch sqlite3, httplib, ... too)."""
    from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415 - on first use, not at cold start

    return Tracer(patch_modules=PATCHED_MODULES)


def reset() -> None:
    """Forget the built Metrics and Tracer (tests that change the environment)."""
    metrics.cache_clear()
    tracer.cache_clear()


def _namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE


def _flush(invocation: _Invocation) -> None:
    """Write the invocation's metrics: the counts as one EMF document, each lag as one more."""
    if not (invocation.counts or invocation.lags) or not metrics_enabled():
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

    if invocation.counts:
        emitter = metrics()
        for metric, value in invocation.counts.items():
            emitter.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)
        emitter.flush_metrics()
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    for consumer, milliseconds in invocation.lags.items():
        with single_metric(
            name=Metric.PROJECTION_LAG.value,
            unit=MetricUnit.Milliseconds,
            value=milliseconds,
            namespace=_namespace(),
            default_dimensions={SERVICE: service, CONSUMER: consumer},
        ):
            pass


def instrumented(handler: Handler) -> Handler:
    """``handler`` traced (when tracing is on) and with its metrics written once, when it returns."""
    traced: list[Handler] = []

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        invocation = _Invocation()
        token = _current.set(invocation)
        try:
            if not tracing_enabled():
                return handler(event, context)
            if not traced:
                traced.append(tracer().capture_lambda_handler(handler, capture_response=False))
            return traced[0](event, context)
        finally:
            _current.reset(token)
            _flush(invocation)

    return run

"""An HTTP command's retries on lost races stop within a time budget (found by the issue-12 break-it
pass: after an outage, five slow attempts on a contended stock ran into the function's 10 s timeout
and API Gateway answered a bare 500 instead of the 409 the loop would have given)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shop.application import Repository, retry
from shop.application.access import Caller
from shop.application.commands import DEFAULT_RETRIES, TIME_BUDGET, CommandContext, run_command
from shop.catalog.domain import Stock
from shop.catalog.events import catalog_events
from shop.dependencies import WORST_CALL_SECONDS
from shop.errors import ConcurrencyConflict
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata
from shop.eventstore.store import ConcurrencyError

PRODUCT = "00000000-0000-4000-8000-000000000001"
#: Seconds one attempt takes on a slow (but answering) store: a load and a transaction.
SLOW_ATTEMPT = 2.0
#: The HTTP functions' timeout (template.yaml Globals.Function.Timeout; tests/unit/test_dependencies
#: checks the template against shop.dependencies).
HTTP_TIMEOUT = 10.0


def test_a_command_that_keeps_losing_on_a_slow_store_gives_up_before_the_function_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SimpleNamespace(now=0.0)

    def sleep(seconds: float) -> None:
        clock.now += seconds

    monkeypatch.setattr(retry, "time", SimpleNamespace(sleep=sleep, monotonic=lambda: clock.now))
    store = InMemoryEventStore()
    repository = Repository(store, catalog_events)
    stock = Stock(PRODUCT)
    stock.receive(5)
    repository.save(stock, metadata=EventMetadata("c", "c", "admin"))
    attempts: list[float] = []

    def slow_and_stale(writes: Any, metadata: EventMetadata, **_: Any) -> None:
        attempts.append(clock.now)
        clock.now += SLOW_ATTEMPT
        raise ConcurrencyError([w.stream_id for w in writes])

    store.append_all = slow_and_stale  # type: ignore[method-assign]
    context = CommandContext("corr", "req", caller=Caller("admin", frozenset({"admin"})))

    with pytest.raises(ConcurrencyConflict):
        run_command(repository, Stock, PRODUCT, lambda s: s.receive(1), context)

    assert len(attempts) < DEFAULT_RETRIES + 1  # the budget, not the count, ended it
    # No attempt starts after the budget, so the last ends at most one attempt after it ...
    assert all(started < TIME_BUDGET for started in attempts)
    # ... and the budget leaves room for one more call at its worst inside the function's timeout.
    assert TIME_BUDGET + WORST_CALL_SECONDS < HTTP_TIMEOUT

"""Retrying a decision when a concurrent writer wins the race: the one loop commands and policies share.

An attempt loads the state, decides and appends; a ``ConcurrencyError`` means the state it decided
on is stale, so it backs off (full jitter) and decides again on fresh state. The loop gives up
after ``retries`` more attempts or once ``time_budget`` seconds have passed (a Lambda invocation
must end well inside its timeout), raising ``ConcurrencyConflict``. Each retry counts as
``ConcurrencyRetry``, giving up as ``ConcurrencyConflict`` (``shop.telemetry``, which this code
reaches without Powertools).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from shop import telemetry
from shop.errors import ConcurrencyConflict
from shop.eventstore.store import ConcurrencyError

#: Longest single backoff pause, so a run of retries stays far inside a Lambda timeout.
MAX_BACKOFF = 0.2


def backoff(attempt: int) -> None:
    """Full-jitter exponential backoff: up to 10 ms, then 20 ms, 40 ms ... at most ``MAX_BACKOFF``."""
    time.sleep(random.uniform(0, min(0.01 * 2**attempt, MAX_BACKOFF)))  # noqa: S311 - jitter


def retry_on_conflict[T](
    attempt: Callable[[], T],
    *,
    retries: int,
    what: str,
    time_budget: float | None = None,
    pause: Callable[[int], None] = backoff,
) -> T:
    """``attempt()`` until it wins its race; ``ConcurrencyConflict`` naming ``what`` if it keeps losing.

    Any other exception (a rule, a precondition) ends the loop at once.
    """
    deadline = time.monotonic() + time_budget if time_budget is not None else None
    number = 0
    while True:
        try:
            return attempt()
        except ConcurrencyError as error:
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if number >= retries or out_of_time:
                telemetry.count(telemetry.Metric.CONCURRENCY_CONFLICT)
                raise ConcurrencyConflict(
                    f"{what} was changed by concurrent requests {number + 1} times; try again."
                ) from error
        telemetry.count(telemetry.Metric.CONCURRENCY_RETRY)
        pause(number)
        number += 1

"""``Delivery.pump``: settles only when nothing is in flight and nothing new was written meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import delivery as delivery_module
from local.stack.delivery import Delivery, Source


class Stream:
    """A stream's records, and a reader that reads each once."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.read_up_to = 0

    def read(self) -> list[dict[str, Any]]:
        new = self.records[self.read_up_to :]
        self.read_up_to = len(self.records)
        return new


class BatchOnThread:
    """A mapping whose one batch runs on another thread (ParallelizationFactor > 1): it is in
    flight when delivery starts, and finishes (writing a record the next consumer must see) while
    the delivery loop is reading: after the read, before the loop asks whether all are idle."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.in_flight = True
        self.records: list[dict[str, Any]] = []

    def offer(self, records: list[dict[str, Any]]) -> int:
        self.records.extend(records)
        if self.in_flight:  # the batch ends just after this read: its write comes too late for it
            self.in_flight = False
            self.stream.records.append({"eventID": "written-by-the-batch"})
        return len(records)

    def deliver(self) -> bool:
        if self.records:
            self.records.clear()
            return True
        return False

    @property
    def idle(self) -> bool:
        return not self.in_flight and not self.records


def test_pump_does_not_settle_before_reading_what_a_finishing_batch_wrote() -> None:
    stream = Stream()
    mapping = BatchOnThread(stream)
    source = Source(reader=stream, mappings=[mapping])  # type: ignore[arg-type]
    delivery = Delivery([source], log=print)

    delivery.pump(timeout=5)

    assert stream.read_up_to == len(stream.records) == 1  # the batch's record was read ...
    assert mapping.idle  # ... and delivered before pump returned


class RetriedForever:
    """A mapping whose batch fails every time and is due again at once (``MaximumRetryAttempts: -1``,
    no retry delay: the in-process stack): every ``deliver`` invokes the function."""

    def __init__(self, gives_up_after: int) -> None:
        self.deliveries = 0
        self.gives_up_after = gives_up_after

    def offer(self, records: list[dict[str, Any]]) -> int:
        return len(records)

    def deliver(self) -> bool:
        self.deliveries += 1
        return self.deliveries < self.gives_up_after

    @property
    def idle(self) -> bool:
        return False


def test_pump_gives_up_at_its_timeout_while_a_batch_is_retried_without_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by tests/integration/test_outage_recovery.py: with a policy failing for good, pump kept
    delivering the same batch and never reached its deadline (the suite hung, not failed)."""
    ticks = iter(range(1_000_000))
    monkeypatch.setattr(delivery_module.time, "monotonic", lambda: float(next(ticks)))  # 1 s a look
    mapping = RetriedForever(gives_up_after=1_000)
    delivery = Delivery([Source(reader=Stream(), mappings=[mapping])], log=print)  # type: ignore[list-item]

    with pytest.raises(TimeoutError):
        delivery.pump(timeout=5)

    assert mapping.deliveries <= 10  # stopped at the deadline, not when the batch stopped failing

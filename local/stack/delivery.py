"""Moving stream records to functions: the one delivery loop of the local stack.

Each stream has one reader; what it reads is offered to every mapping of that stream (each keeps
what its filter criteria accept), and each mapping delivers the batches that are due. Two steps,
``read`` and ``deliver``, and two ways to run them: ``make run`` runs them in threads (one per
stream, one per mapping, a deliverer woken as soon as its mapping takes records); tests and
benchmarks call ``pump``, which runs the same steps in turn in the calling thread until every
mapping is idle and nothing new arrives. SQS event source mappings (``queues``: the consumers'
on-failure queues, read back by their parkers) are delivered in the same loops: a thread each,
woken when the stack sends to the queue (and polled every ``QUEUE_POLL`` seconds), and in
``pump`` once the stack has sent to the queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from local.aws.esm import EventSourceMapping, QueueEventSourceMapping, StreamReader

Log = Callable[[str], None]
Spawn = Callable[..., None]


@dataclass
class Source:
    """One stream and the mappings that consume it; ``observers`` see every read first (the
    local stack's state on disk, ``local.stack.state``)."""

    reader: StreamReader
    mappings: list[EventSourceMapping] = field(default_factory=list)
    #: Logical id of the table whose stream this is.
    table: str = ""
    observers: list[Callable[[list[dict[str, Any]]], object]] = field(default_factory=list)
    #: One read at a time: the reader thread's, or the last one at a stop.
    lock: threading.Lock = field(default_factory=threading.Lock)


class Delivery:
    #: How often an idle queue is polled in threads (sends to it wake its deliverer at once).
    QUEUE_POLL = 1.0

    def __init__(
        self, sources: Iterable[Source], log: Log, queues: Iterable[QueueEventSourceMapping] = ()
    ) -> None:
        self.sources = list(sources)
        self.queues = list(queues)
        self._log = log

    @property
    def mappings(self) -> list[EventSourceMapping]:
        return [mapping for source in self.sources for mapping in source.mappings]

    @property
    def idle(self) -> bool:
        return all(mapping.idle for mapping in self.mappings) and all(q.idle for q in self.queues)

    # ------------------------------------------------------------------ the two steps
    def read(self, source: Source) -> int:
        """Read the stream once; offer what is new to each of its mappings. How many records were read."""
        with source.lock:
            records = source.reader.read()
            for observe in source.observers:
                try:
                    observe(records)
                except Exception as error:  # the records must still reach the mappings
                    self._log(f"[stream] {source.table}: an observer failed: {type(error).__name__}: {error}")
        for mapping in source.mappings:
            try:
                mapping.offer(records)
            except Exception as error:  # one mapping's trouble must not starve the others
                self._log(f"{mapping.name} could not take records: {type(error).__name__}: {error}")
        return len(records)

    @staticmethod
    def deliver(mapping: EventSourceMapping) -> bool:
        """Deliver the mapping's due batches; True if any was invoked (or started)."""
        return mapping.deliver()

    # ------------------------------------------------------------------ in the calling thread
    def poll(self) -> int:
        return sum(self.read(source) for source in self.sources)

    def drain(self, mappings: list[EventSourceMapping], *, timeout: float = 30.0) -> None:
        """Deliver what these mappings already hold (no new reads) until each is idle."""
        deadline = time.monotonic() + timeout
        while not all(m.idle for m in mappings):
            delivered = [self.deliver(m) for m in mappings]  # every mapping: no short-circuit
            if not any(delivered):
                time.sleep(0.005)
            if time.monotonic() > deadline:
                raise TimeoutError("delivery did not settle")

    def pump(self, *, timeout: float = 30.0) -> int:
        """Read and deliver until every mapping is idle and no new records arrive; batches delivered."""
        deadline = time.monotonic() + timeout
        delivered = 0
        while True:
            # Idle before reading, not after: a batch in flight on another thread may finish (and
            # write records) after the read; this round's read saw all it wrote only if it was done.
            was_idle = self.idle
            self.poll()
            progressed = sum(self._deliver_due(mapping, deadline) for mapping in self.mappings)
            for queue in self.queues:  # only a queue the stack sent to: no receive per round otherwise
                if queue.wakeup.is_set():
                    queue.wakeup.clear()
                    while queue.deliver():
                        progressed += 1
            delivered += progressed
            if not progressed and was_idle:
                return delivered
            if time.monotonic() > deadline:
                raise TimeoutError("stream delivery did not settle")
            if not progressed:
                time.sleep(0.005)

    def _deliver_due(self, mapping: EventSourceMapping, deadline: float) -> int:
        """Deliver while the mapping has a batch due; batches delivered. A batch retried without pause
        (no retry delay, no retry limit) is always due: the deadline stops it."""
        delivered = 0
        while self.deliver(mapping):
            delivered += 1
            if time.monotonic() > deadline:
                raise TimeoutError("stream delivery did not settle")
        return delivered

    # ------------------------------------------------------------------ in threads
    def run_in_threads(self, spawn: Spawn, stopping: threading.Event, poll_interval: float) -> None:
        """``spawn(target, *args, name=...)`` a reader per stream and a deliverer per mapping."""
        for source in self.sources:
            table = source.reader.stream_arn.split("/")[1]
            spawn(self._read_until, source, stopping, poll_interval, name=f"read-{table}")
        for mapping in self.mappings:
            spawn(self._deliver_until, mapping, stopping, poll_interval, name=f"deliver-{mapping.function}")
        for queue in self.queues:
            interval = max(poll_interval, self.QUEUE_POLL)
            spawn(self._deliver_until, queue, stopping, interval, name=f"receive-{queue.function}")

    def _read_until(self, source: Source, stopping: threading.Event, poll_interval: float) -> None:
        while not stopping.is_set():
            try:
                read = self.read(source)
            except Exception as error:  # keep polling; report what went wrong
                if stopping.is_set():
                    return
                self._log(f"[stream] {source.reader.stream_arn}: {type(error).__name__}: {error}")
                stopping.wait(1.0)
                continue
            if not read:
                stopping.wait(poll_interval)

    def _deliver_until(
        self,
        mapping: EventSourceMapping | QueueEventSourceMapping,
        stopping: threading.Event,
        poll_interval: float,
    ) -> None:
        while not stopping.is_set():
            mapping.wakeup.clear()
            try:
                delivered = mapping.deliver()
            except Exception as error:
                if stopping.is_set():
                    return
                self._log(f"{mapping.name} {type(error).__name__}: {error}")
                delivered = False
            if not delivered:
                mapping.wakeup.wait(poll_interval)

    def close(self) -> None:
        for mapping in self.mappings:
            mapping.close()

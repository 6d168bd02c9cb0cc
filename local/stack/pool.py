"""Functions in worker processes, like Lambda execution environments.

Each function gets its own pool of worker processes (``local.stack.worker``), each started with that
function's environment from the template, so Powertools service names, table names and cached
clients never mix between functions. A worker serves one invocation at a time; concurrent
invocations of one function use more workers, up to ``max_workers``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from local import ROOT
from local.aws.esm import FunctionError
from local.aws.template import Function
from local.stack.worker import read_frame, write_frame


class WorkerGone(FunctionError):
    """The worker had exited before it was handed the event: the event reached no handler."""


class Worker:
    """A worker process, started (not yet ready) on construction; ``wait_ready`` waits for its
    handler to be imported."""

    def __init__(self, function: Function, environment: Mapping[str, str]) -> None:
        self.function = function
        self.ready = False
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.stack.worker",
                "--function",
                function.logical_id,
                "--module",
                str(function.module_path),
                "--attribute",
                function.handler_attribute,
                "--requests",
                str(request_read),
                "--responses",
                str(response_write),
                "--timeout",
                str(function.properties.get("Timeout", 3)),
            ],
            env=dict(environment),
            cwd=ROOT,
            pass_fds=(request_read, response_write),
            stdin=subprocess.DEVNULL,
            # Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) reaches
            # the stack alone, which stops its workers; a worker still starting Python would
            # otherwise die of it with a KeyboardInterrupt traceback.
            process_group=0,
        )
        os.close(request_read)
        os.close(response_write)
        self._requests: BinaryIO = os.fdopen(request_write, "wb")
        self._responses: BinaryIO = os.fdopen(response_read, "rb")

    def wait_ready(self) -> None:
        """Wait until the handler module is imported (the worker's first frame)."""
        try:
            read_frame(self._responses)
        except (EOFError, OSError, ValueError):  # exited, or stopped (its pipe closed) while starting
            self.stop()
            raise FunctionError(
                f"{self.function.logical_id} failed to start (see its output above)"
            ) from None
        self.ready = True

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: dict[str, Any], timeout: float) -> Any:
        try:
            write_frame(self._requests, {"event": event, "requestId": str(uuid.uuid4())})
        except (OSError, ValueError) as error:  # broken pipe, or closed by the stack stopping
            self.stop()
            raise WorkerGone(f"{self.function.logical_id} worker is gone") from error
        ready, _, _ = select.select([self._responses], [], [], timeout)
        if not ready:
            self.stop()
            raise FunctionError(f"Task timed out after {timeout:.2f} seconds")
        try:
            answer = read_frame(self._responses)
        except EOFError:
            self.stop()
            raise FunctionError(f"{self.function.logical_id} worker exited during the invocation") from None
        if "error" in answer:
            raise FunctionError(answer["error"])
        return answer["ok"]

    def stop(self, timeout: float = 3.0) -> None:
        self.signal_stop()
        self.wait(timeout)

    def signal_stop(self) -> None:
        """Close the request pipe: the worker exits after its current invocation, if any. A worker
        still importing its handler would notice only once ready: it is terminated instead (it has
        served nothing yet)."""
        with contextlib.suppress(OSError):
            self._requests.close()
        if not self.ready and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float) -> None:
        try:
            self.process.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            self._responses.close()


class FunctionPool:
    def __init__(self, function: Function, environment: Mapping[str, str], max_workers: int) -> None:
        self.function = function
        self._environment = dict(environment)
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_workers)
        self._workers: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.timeout = float(function.properties.get("Timeout", 3))

    def _start(self) -> Worker:
        """A new worker, listed from the moment its process exists: ``close`` stops it even while it
        is still importing its handler (the stack may stop right after its ready line)."""
        with self._lock:
            if self._closed:
                raise FunctionError("the local stack is stopping")
            worker = Worker(self.function, self._environment)
            self._workers.append(worker)
        try:
            worker.wait_ready()
        except FunctionError:
            self._discard(worker)
            if self._closed:
                raise FunctionError("the local stack is stopping") from None
            raise
        return worker

    def warm(self) -> None:
        with self._slots:
            self._idle.put(self._start())

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run ``event`` on an idle worker, or a new one; a worker found dead is replaced, as Lambda
        never hands an event to an execution environment that has died."""
        with self._slots:
            while True:
                worker = self._take_idle()
                fresh = worker is None
                if worker is None:
                    worker = self._start()
                gone = False
                try:
                    return worker.invoke(event, self.timeout)
                except WorkerGone:
                    gone = True
                    if fresh:
                        raise
                    # It died after `_take_idle` looked: the event reached no handler, so it goes
                    # to another worker (at most one per idle worker, then a fresh one).
                finally:
                    if worker.alive and not gone:
                        self._idle.put(worker)
                    else:
                        self._discard(worker)

    def _take_idle(self) -> Worker | None:
        """The most recently used idle worker still alive; dead ones on the way are discarded."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return None
            if worker.alive:
                return worker
            self._discard(worker)

    def _discard(self, worker: Worker) -> None:
        worker.stop()  # its process has exited: this closes its pipes and reaps it
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def close(self) -> list[Worker]:
        """Tell every worker to stop; the caller waits for them (all pools at once)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.signal_stop()
        return workers


class WorkerPoolInvoker:
    """An ``Invoker`` that runs each function in its own worker processes."""

    def __init__(
        self,
        functions: Mapping[str, Function],
        environment_of: Callable[[str], Mapping[str, str]],
        *,
        max_workers: int = 4,
    ) -> None:
        self._functions = functions
        self._environment_of = environment_of
        self._max_workers = max_workers
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def pool(self, function: str) -> FunctionPool:
        with self._lock:
            if self._closed:
                raise FunctionError("the local stack is stopping")
            if function not in self._pools:
                self._pools[function] = FunctionPool(
                    self._functions[function], self._environment_of(function), self._max_workers
                )
            return self._pools[function]

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.pool(function).invoke(event)

    def warm_all(self) -> None:
        """Start one worker per function in the background (imports take a moment each)."""
        for name in self._functions:
            threading.Thread(target=self._warm, args=(name,), daemon=True).start()

    def _warm(self, function: str) -> None:
        with contextlib.suppress(FunctionError):
            self.pool(function).warm()

    def close(self, timeout: float = 3.0) -> None:
        """Stop every worker, those still starting too, and wait for them (then kill)."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        workers = [worker for pool in pools for worker in pool.close()]
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.wait(deadline - time.monotonic())

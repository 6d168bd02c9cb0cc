"""Worker pools (local/stack/pool.py): a function's execution environments, as Lambda runs them."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.aws.template import Function
from local.stack.pool import FunctionPool

HANDLER = "def handler(event, context):\n    return {'pid': __import__('os').getpid()}\n"


@pytest.fixture
def echo(tmp_path: Path) -> Function:
    (tmp_path / "app.py").write_text(HANDLER)
    return Function("Echo", tmp_path, "app.handler", {"Timeout": 5})


@pytest.fixture
def pool(echo: Function) -> Iterator[FunctionPool]:
    pool = FunctionPool(echo, dict(os.environ), max_workers=3)
    yield pool
    for worker in pool.close():
        worker.wait(3.0)


def kill(pid: int, *, reap: bool) -> None:
    os.kill(pid, signal.SIGKILL)
    if reap:
        os.waitpid(pid, 0)
    else:  # a zombie until the pool polls it
        while Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z":
            time.sleep(0.01)


def test_a_worker_that_died_while_idle_is_replaced_not_invoked(echo: Function) -> None:
    """Lambda never hands an event to an execution environment that has died. On `make run`, after
    the idle workers of CatalogQueries were killed, the next 4 requests answered 500 (`worker is
    gone`), one per dead worker; on a stream mapping each such failure also spends a retry attempt."""
    pool = FunctionPool(echo, dict(os.environ), max_workers=1)
    try:
        first = pool.invoke({})["pid"]
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)  # dead and reaped while idle in the pool

        second = pool.invoke({})["pid"]
    finally:
        for worker in pool.close():
            worker.wait(3.0)
    assert second != first


def test_every_dead_idle_worker_is_passed_over_and_dropped(pool: FunctionPool) -> None:
    """All of a function's idle workers dead (reaped by someone else or not): the first invocation
    succeeds on a fresh worker, and the pool keeps none of the dead ones."""
    for _ in range(3):
        pool.warm()
    dead = [worker.process.pid for worker in pool._workers]
    for index, pid in enumerate(dead):
        kill(pid, reap=index % 2 == 0)

    answered = pool.invoke({})["pid"]

    assert answered not in dead
    assert [worker.process.pid for worker in pool._workers] == [answered]
    assert pool.invoke({})["pid"] == answered  # the fresh worker is reused, not replaced


def test_a_worker_that_dies_between_the_check_and_the_event_is_passed_over(
    pool: FunctionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the liveness check cannot close: the worker looked alive, then its request pipe was
    broken. The event reached no handler, so it goes to another worker instead of failing."""
    pool.warm()
    (worker,) = pool._workers
    kill(worker.process.pid, reap=True)
    monkeypatch.setattr(worker.process, "poll", lambda: None)  # it still looks alive

    answered = pool.invoke({})["pid"]

    assert answered != worker.process.pid
    assert worker not in pool._workers

"""Worker pools (local/stack/pool.py): a function's execution environments, as Lambda runs them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from local.aws.template import Function
from local.stack.pool import FunctionPool

HANDLER = "def handler(event, context):\n    return {'pid': __import__('os').getpid()}\n"


def test_a_worker_that_died_while_idle_is_replaced_not_invoked(tmp_path: Path) -> None:
    """Lambda never hands an event to an execution environment that has died. On `make run`, after
    the idle workers of CatalogQueries were killed, the next 4 requests answered 500 (`worker is
    gone`), one per dead worker; on a stream mapping each such failure also spends a retry attempt."""
    (tmp_path / "app.py").write_text(HANDLER)
    function = Function("Echo", tmp_path, "app.handler", {"Timeout": 5})
    pool = FunctionPool(function, dict(os.environ), max_workers=1)
    try:
        first = pool.invoke({})["pid"]
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)  # dead and reaped while idle in the pool

        second = pool.invoke({})["pid"]
    finally:
        for worker in pool.close():
            worker.wait(3.0)
    assert second != first

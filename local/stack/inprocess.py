"""The whole template in this process, against moto's in-process ``mock_aws`` (tests, benchmarks)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws

from local.aws import moto_patches
from local.aws.functions import OFFLINE_ENVIRONMENT
from local.aws.template import Template
from local.stack.invokers import InProcessInvoker
from local.stack.stack import Clients, Stack
from shop import runtime


@contextmanager
def emulated_aws() -> Iterator[None]:
    """moto's in-process ``mock_aws``, with the fixes the endpoint has too (``local.aws.moto_patches``)."""
    moto_patches.apply()
    with mock_aws():
        yield


@functools.cache
def _clients() -> Clients:
    """The stack's own clients of ``mock_aws``, made once per process (six clients cost 0.15 s of
    CPU; ``Clients`` is frozen). A client made after moto's import answers from whichever
    ``mock_aws`` is active, with that context's state."""
    return Clients.connect()


@contextmanager
def in_process_stack(template: Template | None = None) -> Iterator[Stack]:
    """Create every resource of the template on ``mock_aws`` and run all functions in this process.

    ``os.environ`` gets every function's variables for the duration (restored afterwards).
    """
    saved = dict(os.environ)
    os.environ.update(OFFLINE_ENVIRONMENT)
    with emulated_aws():
        runtime.reset()
        # mock_aws is not thread-safe: deliver one batch at a time (ParallelizationFactor 1).
        stack = Stack(template or Template(), _clients(), retry_delay=0, max_parallelization=1)
        stack.create_resources()
        os.environ.update(stack.shared_environment())
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        stack.start_mappings(InProcessInvoker(stack.template))
        try:
            yield stack
        finally:
            runtime.reset()
            os.environ.clear()
            os.environ.update(saved)

"""How a function runs when the stack invokes it: the ``Invoker`` port, and the in-process one.

``make run`` uses worker processes instead (``local.stack.pool.WorkerPoolInvoker``): each function
in its own execution environments, with its own environment variables.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from local.aws import calls
from local.aws.esm import FunctionError
from local.aws.functions import LambdaContext, load_handler
from local.aws.template import Template

log = logging.getLogger("local")


class Invoker(Protocol):
    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Run the function; raise ``FunctionError`` if its handler raised."""
        ...


class InProcessInvoker:
    """Calls handlers in this process. All functions share ``os.environ``: the caller sets it."""

    def __init__(self, template: Template) -> None:
        self._functions = template.functions
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        handler = self._handlers.get(function)
        if handler is None:
            handler = self._handlers[function] = load_handler(self._functions[function])
        try:
            timeout = float(self._functions[function].properties.get("Timeout", 3))
            with calls.acting_as(function):  # its AWS calls are the function's (local.aws.calls)
                return handler(event, LambdaContext(function, timeout_seconds=timeout))
        except Exception as error:
            log.debug("%s failed:\n%s", function, traceback.format_exc())
            raise FunctionError(f"{type(error).__name__}: {error}") from error

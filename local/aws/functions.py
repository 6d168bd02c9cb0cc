"""Loading a function's handler from ``CodeUri``/``Handler`` and calling it like Lambda does."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.aws.template import Function, Template

#: What any process talking to the local endpoint needs: a region and credentials that are not real.
OFFLINE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}

#: Environment every locally run function gets on top of its template environment.
LOCAL_ENVIRONMENT = {
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # moto does not route account-based endpoints
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


_LOADING = threading.RLock()


def load_module(logical_id: str, path: Path) -> ModuleType:
    """Import a function's module under a unique name (every function has an ``app.py``)."""
    module_name = f"_function_{logical_id}"
    with _LOADING:  # concurrent first invocations must not see a half-imported module
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[module_name] = module
    return module


def load_handler(function: Function) -> Callable[[dict[str, Any], Any], Any]:
    handler: Callable[[dict[str, Any], Any], Any] = getattr(
        load_module(function.logical_id, function.module_path), function.handler_attribute
    )
    return handler


#: A dynamic reference (``{{resolve:secretsmanager:...}}``, ``{{resolve:ssm-secure:...}}``) in an
#: environment variable is resolved at deploy time: the value would sit in the function's
#: configuration in plain text. Functions fetch secrets at first use instead (docs/security.md).
DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:[^}]+\}\}")


def function_environment(
    template: Template,
    function: Function,
    physical: Mapping[str, str],
    attributes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's environment from the template, resolved against local resource names."""
    resolved = template.resolve(dict(function.environment), physical, attributes)
    environment = {name: str(value) for name, value in resolved.items()}
    for name, value in environment.items():
        if DYNAMIC_REFERENCE.search(value):
            raise ValueError(f"{function.logical_id}.{name}: a dynamic reference puts a secret in plain text")
    return {**environment, **LOCAL_ENVIRONMENT}

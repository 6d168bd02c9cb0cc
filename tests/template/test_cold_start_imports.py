"""Cold start: every function in template.yaml imports only what it uses (issue 13).

Each function runs as Lambda starts it: a fresh interpreter without ``site`` (``-S``), the layer's
``shop`` and its dependencies on the path, the function's template environment, and its handler
module loaded, then invoked once with its first sample in ``events/`` against a stand-in AWS
endpoint that answers every call with an empty result. The modules loaded at each of the two
points are checked by name, never by time:

* at import, nothing that talks to AWS (no boto3, no client), no X-Ray, nothing of Powertools'
  parser, batch or idempotency utilities, nothing only the OpenAPI generator, ``shopctl`` or the
  tests use;
* a stream or queue consumer never loads the HTTP edge (``shop.http``, Powertools' resolver,
  the API Gateway event wrappers); an HTTP function never loads the parking lot, the projection
  engine, a policy or the stream code;
* after the first invocation, the X-Ray SDK only with tracing on (and then it is loaded: the
  check would otherwise pass without tracing anything), and it patched botocore only.

Each kind also names modules it must load, so the checks fail when the handler is not loaded at all.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from local import ROOT
from local.aws.functions import OFFLINE_ENVIRONMENT, function_environment
from local.aws.template import Template

#: Never loaded by any function, neither at import nor in its first invocation.
NEVER = (
    "aws_lambda_powertools.utilities.parser",  # 24 pydantic models, built at import
    "aws_lambda_powertools.utilities.batch",  # imports the parser's models once pydantic is loaded
    "aws_lambda_powertools.utilities.idempotency",  # only a request with an Idempotency-Key needs it
    "aws_lambda_powertools.event_handler.openapi.models",  # the OpenAPI document's models
    "shop.http.openapi",  # the documents' generator (make openapi)
    "shop.http.representations",  # the documents' response models
    "shop.catalog.representations",
    "shop.cart.representations",
    "shop.orders.representations",
    "shop.operations.rebuild",  # shopctl
    "shop.operations.readmodels",  # shopctl
    "shop.operations.lag",  # shopctl
    "shop.eventstore.memory",  # tests
    "shop.views.memory",  # tests
    "schemathesis",  # tests
)

#: Not loaded before the first invocation: no client, no X-Ray at import (botocore's exceptions are
#: fine: the adapters catch ``ClientError``, and the first invocation loads botocore anyway).
NOT_AT_IMPORT = ("boto3", "s3transfer", "botocore.client", "botocore.session", "aws_xray_sdk")

NOT_IN_A_CONSUMER = (
    "shop.http",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)

NOT_IN_AN_HTTP_FUNCTION = (
    "shop.streams",
    "shop.operations.parking",
    "shop.operations.parking_dynamodb",
    "shop.projection",
    "shop.catalog.policies",
    "shop.orders.policies",
)

LOADED_BY_A_CONSUMER = ("shop.streams",)
LOADED_BY_AN_HTTP_FUNCTION = ("shop.http.handler", "aws_lambda_powertools.event_handler.api_gateway")


@dataclass(frozen=True)
class Kind:
    name: str
    never: tuple[str, ...]
    loaded: tuple[str, ...]


HTTP = Kind("http", NOT_IN_AN_HTTP_FUNCTION, LOADED_BY_AN_HTTP_FUNCTION)
CONSUMER = Kind("consumer", NOT_IN_A_CONSUMER, LOADED_BY_A_CONSUMER)

TEMPLATE = Template()


def kind_of(logical_id: str) -> Kind:
    """HTTP functions answer HttpApi events; the others consume a stream and its on-failure queue."""
    events = TEMPLATE.resources[logical_id]["Properties"].get("Events", {}).values()
    types = {event["Type"] for event in events}
    if types == {"HttpApi"}:
        return HTTP
    assert types, f"{logical_id} has no events"
    assert types <= {"DynamoDB", "SQS"}, f"{logical_id}: what kind of function is this? {types}"
    return CONSUMER


def sample_of(logical_id: str) -> Path:
    """The function's first sample event without an Idempotency-Key (a keyed request is the one
    that may load Powertools' idempotency utility)."""
    samples = sorted((ROOT / "events" / logical_id).glob("*.json"))
    plain = [path for path in samples if "idempotency-key" not in path.read_text().lower()]
    assert plain, f"events/{logical_id}/ has no sample without an Idempotency-Key"
    return plain[0]


def matches(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(module for module in modules if matches(module, names))


class _EmptyAws(http.server.BaseHTTPRequestHandler):
    """Every AWS JSON call answered with an empty result (a signing secret for Secrets Manager)."""

    protocol_version = "HTTP/1.1"
    ANSWERS: ClassVar[dict[str, Any]] = {
        "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
        "BatchGetItem": {"Responses": {}},
        "GetSecretValue": {"Name": "s", "SecretString": "a-signing-secret-of-enough-length-0123456789"},
    }

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        operation = self.headers.get("X-Amz-Target", ".").rsplit(".", 1)[-1]
        body = json.dumps(self.ANSWERS.get(operation, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EmptyAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


#: Runs in the function's interpreter: load the handler module, note the modules, invoke once with
#: the sample (stdout, where Powertools logs, is kept apart), note the modules again.
SCRIPT = """
import contextlib, importlib.util, io, json, sys
path, attribute, sample, name = sys.argv[1:5]
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = sorted(sys.modules)

class Context:
    function_name = name
    memory_limit_in_mb = 1024
    aws_request_id = "r-1"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
    log_group_name = log_stream_name = name

    def get_remaining_time_in_millis(self):
        return 10_000

with open(sample) as file, contextlib.redirect_stdout(io.StringIO()):
    try:
        answer = repr(getattr(module, attribute)(json.load(file), Context()))
    except Exception as error:
        answer = "raised " + type(error).__name__ + ": " + str(error)
patcher = sys.modules.get("aws_xray_sdk.core.patcher")
patched = sorted(patcher._PATCHED_MODULES) if patcher else []
invoked = sorted(sys.modules)
print(json.dumps({"imported": imported, "invoked": invoked, "answer": answer, "patched": patched}))
"""


def cold_start(logical_id: str, endpoint: str, *, tracing: bool) -> dict[str, Any]:
    function = TEMPLATE.functions[logical_id]
    physical = {name: f"test-{name}" for name in TEMPLATE.resources}
    environment = {
        **function_environment(TEMPLATE, function, physical),
        **OFFLINE_ENVIRONMENT,
        "POWERTOOLS_METRICS_DISABLED": "false",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "LAMBDA_TASK_ROOT": str(function.code_uri),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(
            [
                str(function.code_uri),
                *(str(path) for path in TEMPLATE.layer_paths(function)),
                sysconfig.get_paths()["purelib"],
                sysconfig.get_paths()["platlib"],
            ]
        ),
    }
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    if not tracing:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    result = subprocess.run(
        [
            sys.executable,
            "-S",
            "-B",
            "-c",
            SCRIPT,
            str(function.module_path),
            function.handler_attribute,
            str(sample_of(logical_id)),
            logical_id,
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=function.code_uri,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.splitlines()[-1]))


def cases() -> list[Any]:
    """Every function with tracing on (the template's default, ``Active``: the X-Ray SDK is loaded in
    the first invocation), and the first function of each kind with tracing off as well."""
    functions = sorted(TEMPLATE.functions)
    first_of_kind = {kind_of(logical_id).name: logical_id for logical_id in reversed(functions)}
    traced = [pytest.param(logical_id, True, id=f"{logical_id}-tracing") for logical_id in functions]
    untraced = [pytest.param(name, False, id=f"{name}-no-tracing") for name in first_of_kind.values()]
    return traced + untraced


@pytest.mark.parametrize(("logical_id", "tracing"), cases())
def test_a_function_imports_only_what_it_uses(logical_id: str, tracing: bool, endpoint: str) -> None:
    kind = kind_of(logical_id)
    modules = cold_start(logical_id, endpoint, tracing=tracing)
    imported, invoked, answer = modules["imported"], modules["invoked"], modules["answer"]

    assert loaded(imported, kind.loaded) != [], f"the handler was not loaded: {sorted(imported)[-20:]}"
    assert ("'statusCode'" if kind is HTTP else "'batchItemFailures'") in answer, answer
    assert loaded(imported, NOT_AT_IMPORT) == []
    assert loaded(invoked, NEVER) == []
    assert loaded(invoked, kind.never) == []
    assert bool(loaded(invoked, ("aws_xray_sdk",))) is tracing
    assert modules["patched"] == (["botocore"] if tracing else [])  # not every library X-Ray knows

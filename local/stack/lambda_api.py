"""The local stack's Lambda endpoint (``LAMBDA_PORT``, 3002): the Lambda API for the template's functions.

What botocore's ``lambda`` model (REST-JSON, API version 2015-03-31) sends, answered as Lambda does:

* ``Invoke`` - ``POST /2015-03-31/functions/{FunctionName}/invocations``; ``X-Amz-Invocation-Type``
  ``RequestResponse`` (200 and the result; a function error is a 200 with ``X-Amz-Function-Error:
  Unhandled`` and ``{errorType, errorMessage}``), ``Event`` (202; run in the background, a throttled
  event tried again until the function may run) or ``DryRun`` (204).
* ``PutFunctionConcurrency`` - ``PUT /2017-10-31/functions/{FunctionName}/concurrency``;
  ``GetFunctionConcurrency`` - ``GET /2019-09-30/functions/{FunctionName}/concurrency``;
  ``DeleteFunctionConcurrency`` - ``DELETE /2017-10-31/functions/{FunctionName}/concurrency`` (204).

Functions are named by their logical id in the template, or by an ARN (or partial ARN) ending in it.
Errors carry their type in ``x-amzn-ErrorType`` and ``{"Type", "message"}`` in the body:
``ResourceNotFoundException`` 404, ``TooManyRequestsException`` 429 (``Reason``, ``Retry-After``),
``InvalidParameterValueException`` and ``InvalidRequestContentException`` 400. Requests are not
authenticated (any credentials do).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qs, unquote

from local.aws.apigw import HttpRequest, HttpResponse
from local.aws.esm import FunctionError, Throttled
from local.aws.esm import backoff as backoff_delay
from local.stack.concurrency import InvalidConcurrency, ReservedConcurrency
from local.stack.invokers import Invoker

ACCOUNT = "123456789012"
#: Lambda's limit on a synchronous invocation's payload.
MAX_PAYLOAD = 6 * 1024 * 1024
#: Longest wait between two tries of a throttled ``Event`` invocation (a limit change wakes it at once).
EVENT_RETRY_CAP = 1.0

_INVOKE = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")
_CONCURRENCY = re.compile(r"/(2017-10-31|2019-09-30)/functions/([^/]+)/concurrency")
#: A function name, an ARN or a partial ARN of it, with an optional qualifier (the API's pattern).
_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d{1}:)?(?:\d{12}:)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)
_ERROR_TYPE = re.compile(r"[A-Za-z_][\w.]*")
_CONCURRENCY_OPERATIONS = {
    ("PUT", "2017-10-31"): "PutFunctionConcurrency",
    ("GET", "2019-09-30"): "GetFunctionConcurrency",
    ("DELETE", "2017-10-31"): "DeleteFunctionConcurrency",
}

Log = Callable[[str], None]


class LambdaError(Exception):
    """An error answer of the Lambda API."""

    def __init__(
        self, status: int, kind: str, message: str, *, extra: dict[str, str] | None = None, **headers: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.extra = extra or {}
        self.headers = headers

    def response(self, request_id: str) -> HttpResponse:
        body = {"Type": "User", "message": self.message, **self.extra}
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": self.kind,
            "x-amzn-RequestId": request_id,
            **self.headers,
        }
        return HttpResponse(self.status, headers, json.dumps(body).encode())


class LambdaApi:
    """Answers Lambda API requests for ``functions`` with the stack's invoker and reserved concurrency."""

    def __init__(
        self,
        functions: Collection[str],
        invoker: Invoker,
        concurrency: ReservedConcurrency,
        *,
        region: str = "us-east-1",
        log: Log | None = None,
    ) -> None:
        self._functions = frozenset(functions)
        self._invoker = invoker
        self._concurrency = concurrency
        self._region = region
        self._log = log or (lambda _: None)
        self._stopping = threading.Event()
        #: Set when a limit changes: throttled ``Event`` invocations try again at once.
        self._limits_changed = threading.Condition()
        concurrency.subscribe(self._limit_changed)

    def close(self) -> None:
        """Stop trying throttled ``Event`` invocations (the stack is stopping)."""
        self._stopping.set()
        self._limit_changed("")

    # ------------------------------------------------------------------ routing
    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The answer, and what the log line names (the function, or the error type)."""
        request_id = str(uuid.uuid4())
        try:
            return self._route(request, request_id)
        except LambdaError as error:
            return error.response(request_id), error.kind

    def _route(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str]:
        invoke = _INVOKE.fullmatch(request.path)
        if invoke and request.method == "POST":
            function, qualifier = self._function(invoke.group(1))
            if qualifier not in (None, "$LATEST"):
                raise self._not_found(f"{function}:{qualifier}")
            return self._invoke(function, request, request_id), function
        concurrency = _CONCURRENCY.fullmatch(request.path)
        operation = (
            _CONCURRENCY_OPERATIONS.get((request.method, concurrency.group(1))) if concurrency else None
        )
        if operation is None or concurrency is None:
            raise LambdaError(
                404,
                "UnknownOperationException",
                f"{request.method} {request.path} is no operation of the local Lambda endpoint (it serves"
                " Invoke, PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency).",
            )
        function, qualifier = self._function(concurrency.group(2))
        if qualifier is not None:
            raise LambdaError(
                400,
                "InvalidParameterValueException",
                "Reserved concurrency is set on the function itself: name it without a qualifier.",
            )
        answer = {"x-amzn-RequestId": request_id}
        if operation == "PutFunctionConcurrency":
            limit = self._put_concurrency(function, request.body)
            return _json(200, {"ReservedConcurrentExecutions": limit}, answer), function
        if operation == "DeleteFunctionConcurrency":
            self._concurrency.delete(function)
            self._log(f"[Lambda] {function}: no reserved concurrency")
            return HttpResponse(204, answer, b""), function
        limit = self._concurrency.get(function)
        return _json(200, {} if limit is None else {"ReservedConcurrentExecutions": limit}, answer), function

    def _function(self, raw: str) -> tuple[str, str | None]:
        given = unquote(raw)
        found = _NAME.fullmatch(given)
        if found is None:
            raise LambdaError(
                400, "InvalidParameterValueException", f"{given!r} is not a function name or ARN."
            )
        name, qualifier = found.group("name"), found.group("qualifier")
        if name not in self._functions:
            raise self._not_found(name)
        return name, qualifier

    def _not_found(self, name: str) -> LambdaError:
        arn = f"arn:aws:lambda:{self._region}:{ACCOUNT}:function:{name}"
        return LambdaError(404, "ResourceNotFoundException", f"Function not found: {arn}")

    # ------------------------------------------------------------------ Invoke
    def _invoke(self, function: str, request: HttpRequest, request_id: str) -> HttpResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        kind = headers.get("x-amz-invocation-type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise LambdaError(
                400,
                "InvalidParameterValueException",
                f"X-Amz-Invocation-Type {kind!r} is none of RequestResponse, Event, DryRun.",
            )
        if len(request.body) > MAX_PAYLOAD:
            raise LambdaError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation",
            )
        event = _payload(request.body)
        qualifier = parse_qs(request.query).get("Qualifier", ["$LATEST"])[0]
        if qualifier != "$LATEST":
            raise self._not_found(f"{function}:{qualifier}")
        answer = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        if kind == "DryRun":
            return HttpResponse(204, answer, b"")
        if kind == "Event":
            threading.Thread(
                target=self._invoke_later, args=(function, event), name=f"event-{function}", daemon=True
            ).start()
            return HttpResponse(202, {"x-amzn-RequestId": request_id}, b"")
        if headers.get("x-amz-log-type") == "Tail":  # the function's log lines go to the stack's output
            answer["X-Amz-Log-Result"] = ""
        try:
            result = self._invoker.invoke(function, event)
        except Throttled as error:
            raise LambdaError(
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                extra={"Reason": Throttled.REASON},
                **{"Retry-After": str(error.retry_after)},
            ) from error
        except FunctionError as error:
            answer["X-Amz-Function-Error"] = "Unhandled"
            return _json(200, _function_error(error), answer)
        return _json(200, result, answer)

    def _invoke_later(self, function: str, event: Any) -> None:
        """An ``Event`` invocation: a throttle is tried again (Lambda's asynchronous queue keeps the
        event for up to 6 hours); a function error is logged, not retried (Lambda retries twice)."""
        tries = 0
        while not self._stopping.is_set():
            try:
                self._invoker.invoke(function, event)
            except Throttled:
                tries += 1
                with self._limits_changed:
                    self._limits_changed.wait(backoff_delay(0.05, tries, EVENT_RETRY_CAP))
                continue
            except FunctionError as error:
                self._log(f"[Lambda] {function} (Event) failed: {error}")
            return

    def _limit_changed(self, _function: str) -> None:
        with self._limits_changed:
            self._limits_changed.notify_all()

    # ------------------------------------------------------------------ concurrency
    def _put_concurrency(self, function: str, body: bytes) -> int:
        document = _payload(body)
        limit = document.get("ReservedConcurrentExecutions") if isinstance(document, dict) else None
        try:
            reserved = self._concurrency.put(function, limit)  # the registry checks what it is
        except InvalidConcurrency as error:
            raise LambdaError(400, "InvalidParameterValueException", str(error)) from error
        self._log(f"[Lambda] {function}: reserved concurrency {reserved}")
        return reserved


def _payload(body: bytes) -> Any:
    """The request's JSON document (an empty body is ``{}``, as Lambda passes it to a function)."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    # ValueError: JSONDecodeError, and an integer over Python's digit limit; RecursionError: nesting
    except (ValueError, RecursionError) as error:
        raise LambdaError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from error


def _json(status: int, document: Any, headers: dict[str, str]) -> HttpResponse:
    return HttpResponse(
        status, {"Content-Type": "application/json", **headers}, json.dumps(document).encode()
    )


def _function_error(error: FunctionError) -> dict[str, str]:
    """Lambda's payload for an unhandled error: ``Type: message`` becomes ``{errorType, errorMessage}``."""
    kind, separator, message = str(error).partition(": ")
    if separator and _ERROR_TYPE.fullmatch(kind):
        return {"errorType": kind, "errorMessage": message}
    return {"errorMessage": str(error)}

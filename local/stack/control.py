"""Outages on demand, for tests and demos: throttle a function, fault a table, and put them back.

``LocalControl`` drives a running local stack from outside, the way an operator would: reserved
concurrency through the Lambda endpoint's real API (boto3's ``lambda`` client), table faults through
the AWS endpoint's local-only ``/_local/faults`` switch (``local.aws.endpoint.FaultSwitch``).

    control = LocalControl.of(stack)            # a StackProcess (tests/e2e)
    with control.throttled("OrderCommands", "OrderIntakePolicy"):
        ...                                     # those functions refused: routes 503, mappings wait
    with control.faulted("OrderEventStore"):
        ...                                     # every DynamoDB request naming it: 500
    control.throttle("OrderCommands", 2); control.unthrottle("OrderCommands")
    control.fault("OrderEventStore"); control.clear_faults()

The context managers restore what they changed even when the body fails; ``restore()`` removes
every limit this control set and every fault.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.stack.process import StackProcess


class LocalControl:
    def __init__(
        self,
        *,
        lambda_endpoint: str | None = None,
        aws_endpoint: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.lambda_endpoint = lambda_endpoint
        self.aws_endpoint = aws_endpoint
        self.region = region
        self._client: Any = None
        #: Functions this control gave a limit (``restore`` removes them).
        self.throttled_functions: set[str] = set()

    @classmethod
    def of(cls, stack: StackProcess) -> LocalControl:
        return cls(lambda_endpoint=stack.lambda_endpoint, aws_endpoint=stack.endpoint)

    # ------------------------------------------------------------------ Lambda: reserved concurrency
    @property
    def lambda_client(self) -> Any:
        """boto3's ``lambda`` client of the local endpoint; one attempt per call (a throttle is an
        answer here, not something to retry)."""
        if self._client is None:
            import boto3  # noqa: PLC0415 - only when a function is throttled or invoked
            from botocore.config import Config  # noqa: PLC0415

            if self.lambda_endpoint is None:
                raise ValueError("no Lambda endpoint given")
            self._client = boto3.client(
                "lambda",
                endpoint_url=self.lambda_endpoint,
                region_name=self.region,
                config=Config(retries={"mode": "standard", "max_attempts": 1}),
            )
        return self._client

    def throttle(self, function: str, limit: int = 0) -> None:
        """``PutFunctionConcurrency``: ``function`` runs at most ``limit`` invocations at once (0: none)."""
        self.lambda_client.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=limit)
        self.throttled_functions.add(function)

    def unthrottle(self, function: str) -> None:
        """``DeleteFunctionConcurrency``: no limit; its mappings deliver again at once."""
        self.lambda_client.delete_function_concurrency(FunctionName=function)
        self.throttled_functions.discard(function)

    def reserved(self, function: str) -> int | None:
        """``GetFunctionConcurrency``: the function's limit, or None."""
        answer = self.lambda_client.get_function_concurrency(FunctionName=function)
        limit = answer.get("ReservedConcurrentExecutions")
        return None if limit is None else int(limit)

    def invoke(self, function: str, event: Any = None) -> Any:
        """``Invoke`` (RequestResponse): the function's result; a function error raises RuntimeError."""
        answer = self.lambda_client.invoke(FunctionName=function, Payload=json.dumps(event or {}).encode())
        result = json.loads(answer["Payload"].read() or b"null")
        if "FunctionError" in answer:
            raise RuntimeError(f"{function} failed: {result}")
        return result

    @contextmanager
    def throttled(self, *functions: str, limit: int = 0) -> Iterator[None]:
        """Every one of ``functions`` at ``limit`` for the duration; their limits removed afterwards."""
        try:
            for function in functions:
                self.throttle(function, limit)
            yield
        finally:
            for function in functions:
                self.unthrottle(function)

    # ------------------------------------------------------------------ the AWS endpoint: table faults
    def fault(self, table: str, error: str = "InternalServerError") -> None:
        """Every DynamoDB request naming ``table`` answers ``error`` (``local.aws.endpoint.FAULT_ERRORS``)."""
        self._faults("POST", {"table": table, "error": error})

    def clear_fault(self, table: str) -> None:
        self._faults("DELETE", path=f"/{table}")

    def clear_faults(self) -> None:
        self._faults("DELETE")

    def faults(self) -> dict[str, str]:
        """Faulted table -> the error it answers."""
        return self._faults("GET")

    @contextmanager
    def faulted(self, *tables: str, error: str = "InternalServerError") -> Iterator[None]:
        """``tables`` faulted for the duration, cleared afterwards."""
        try:
            for table in tables:
                self.fault(table, error)
            yield
        finally:
            for table in tables:
                self.clear_fault(table)

    def _faults(self, method: str, body: Any = None, *, path: str = "") -> dict[str, str]:
        if self.aws_endpoint is None:
            raise ValueError("no AWS endpoint given")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.aws_endpoint}/_local/faults{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            faults: dict[str, str] = json.loads(response.read())["faults"]
        return faults

    # ------------------------------------------------------------------ both
    def restore(self) -> None:
        """Remove every limit this control set, and every fault."""
        for function in sorted(self.throttled_functions):
            self.unthrottle(function)
        if self.aws_endpoint is not None:
            self.clear_faults()

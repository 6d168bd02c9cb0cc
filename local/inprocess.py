"""The whole template in this process, against moto's in-process ``mock_aws`` (tests, benchmarks)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from local import moto_patches
from local.apigw import HttpRequest, HttpResponse
from local.functions import OFFLINE_ENVIRONMENT
from local.stack import InProcessInvoker, Stack
from local.template import Template
from shop import runtime


@dataclass
class Clients:
    dynamodb: Any
    streams: Any
    sqs: Any


class InProcessStack(Stack):
    """A ``Stack`` whose functions run in this process, with HTTP helpers for tests."""

    def command(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        return self.request("CommandApi", method, path, body, headers)

    def query(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return self.request("QueryApi", method, path, None, headers)

    def request(
        self, api: str, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        path, _, query = path.partition("?")
        all_headers = {"content-type": "application/json", **(headers or {})}
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        return self.handle_http(api, HttpRequest(method, path, query, all_headers, raw))


@contextmanager
def emulated_aws() -> Iterator[None]:
    """moto's in-process ``mock_aws``, with the fixes the endpoint has too (``local/moto_patches.py``)."""
    moto_patches.apply()
    with mock_aws():
        yield


@contextmanager
def in_process_stack(template: Template | None = None) -> Iterator[InProcessStack]:
    """Create every resource of the template on ``mock_aws`` and run all functions in this process.

    ``os.environ`` gets every function's variables for the duration (restored afterwards).
    """
    saved = dict(os.environ)
    os.environ.update(OFFLINE_ENVIRONMENT)
    with emulated_aws():
        runtime.reset()
        clients = Clients(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), boto3.client("sqs"))
        # mock_aws is not thread-safe: deliver one batch at a time (ParallelizationFactor 1).
        stack = InProcessStack(template or Template(), clients, retry_delay=0, max_parallelization=1)
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

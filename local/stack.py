"""The system described by ``template.yaml``, wired against a DynamoDB/SQS endpoint (moto).

``Stack`` creates the template's tables and queues, resolves every function's environment, routes
HTTP requests like API Gateway, and runs every stream subscription through an
``EventSourceMapping``. How functions run is pluggable (``Invoker``): in this process for tests,
or in worker processes with their own environment for ``make run``.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from local import calls
from local.apigw import (
    INTERNAL_ERROR,
    NOT_FOUND,
    HttpApiRoutes,
    HttpRequest,
    HttpResponse,
    build_event,
    parse_result,
)
from local.esm import EventSourceMapping, FunctionError, StreamReader
from local.functions import LambdaContext, function_environment, load_handler
from local.template import Template, table_definition

log = logging.getLogger("local")


def secret_names(template: Template, prefix: str = "", region: str = "us-east-1") -> dict[str, str]:
    """Local stand-ins for secrets (their ARNs); functions get values derived from them."""
    return {
        logical: f"arn:aws:secretsmanager:{region}:123456789012:secret:{prefix}{logical}"
        for logical in template.of_type("AWS::SecretsManager::Secret")
    }


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
            with calls.acting_as(function):  # its AWS calls are the function's (local.calls)
                return handler(event, LambdaContext(function, timeout_seconds=timeout))
        except Exception as error:
            log.debug("%s failed:\n%s", function, traceback.format_exc())
            raise FunctionError(f"{type(error).__name__}: {error}") from error


class StreamsClientFor:
    """The streams client an event source mapping reads with: records each call as made by every
    function subscribed to the stream, as Lambda reads with each function's execution role."""

    def __init__(self, client: Any, stream_arn: str, functions: tuple[str, ...]) -> None:
        self._client = client
        self._stream_arn = stream_arn
        self._functions = functions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return method

        def call(**params: Any) -> Any:
            # GetRecords names only an iterator; the resource it reads is the mapping's stream.
            resource = {**params, "StreamArn": self._stream_arn}
            calls.record(self._functions, self._client.meta.service_model.service_name, operation, resource)
            return method(**params)

        return call


class Clients(Protocol):
    dynamodb: Any
    streams: Any
    sqs: Any


class Stack:
    def __init__(
        self,
        template: Template,
        clients: Clients,
        *,
        prefix: str = "",
        region: str = "us-east-1",
        retry_delay: float = 0.05,
        log_line: Callable[[str], None] | None = None,
        max_parallelization: int | None = None,
    ) -> None:
        self.template = template
        self.clients = clients
        self.prefix = prefix
        self.region = region
        self.retry_delay = retry_delay
        self.max_parallelization = max_parallelization
        self.log_line = log_line or (lambda line: log.info("%s", line))
        self.physical: dict[str, str] = {}
        self.attributes: dict[str, str] = {}
        self._queue_urls: dict[str, str] = {}
        self.mappings: list[EventSourceMapping] = []
        self.streams: dict[tuple[str, str], tuple[StreamReader, list[EventSourceMapping]]] = {}
        self.invoker: Invoker | None = None
        self._routes = {api: HttpApiRoutes(template.routes_of(api)) for api in template.http_apis}

    # ------------------------------------------------------------------ resources
    def create_resources(self) -> None:
        for logical, properties in self.template.tables.items():
            name = f"{self.prefix}{logical}"
            description = self.clients.dynamodb.create_table(**table_definition(name, properties))
            table = description["TableDescription"]
            self.physical[logical] = name
            self.attributes[f"{logical}.Arn"] = table["TableArn"]
            if "LatestStreamArn" in table:
                self.attributes[f"{logical}.StreamArn"] = table["LatestStreamArn"]
        for logical in self.template.queues:
            url = self.clients.sqs.create_queue(QueueName=f"{self.prefix}{logical}")["QueueUrl"]
            arn = self.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self.physical[logical] = url
            self.attributes[f"{logical}.Arn"] = arn["Attributes"]["QueueArn"]
            self._queue_urls[self.attributes[f"{logical}.Arn"]] = url
        self.physical.update(secret_names(self.template, self.prefix, self.region))

    def environment(self, function: str) -> dict[str, str]:
        fn = self.template.functions[function]
        return function_environment(self.template, fn, self.physical, self.attributes)

    def shared_environment(self) -> dict[str, str]:
        """Every function's variables in one mapping (for running all functions in one process)."""
        merged: dict[str, str] = {}
        for function in self.template.functions:
            merged.update(self.environment(function))
        return merged

    def queue_url(self, logical: str) -> str:
        return self._queue_urls[self.attributes[f"{logical}.Arn"]]

    # ------------------------------------------------------------------ functions
    def start_mappings(self, invoker: Invoker) -> None:
        """One event source mapping per subscription; subscriptions of a stream share its reader."""
        self.invoker = invoker
        self.mappings = []
        self.streams = {}
        consumers: dict[tuple[str, str], tuple[str, ...]] = {}
        for subscription in self.template.subscriptions:
            source = (subscription.table, subscription.setting("StartingPosition", "TRIM_HORIZON"))
            consumers[source] = (*consumers.get(source, ()), subscription.function)
        for subscription in self.template.subscriptions:
            source = (subscription.table, subscription.setting("StartingPosition", "TRIM_HORIZON"))
            if source not in self.streams:
                arn = self.attributes[f"{source[0]}.StreamArn"]
                client = StreamsClientFor(self.clients.streams, arn, consumers[source])
                self.streams[source] = (StreamReader(client, arn, source[1]), [])
            reader = self.streams[source][0]
            key_schema = self.template.tables[subscription.table]["KeySchema"]
            self.mappings.append(
                EventSourceMapping(
                    subscription,
                    reader,
                    invoker.invoke,
                    functools.partial(self._send_failure, subscription.function),
                    partition_key=next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH"),
                    max_parallelization=self.max_parallelization,
                    region=self.region,
                    retry_delay=self.retry_delay,
                    log=self.log_line,
                )
            )
            self.streams[source][1].append(self.mappings[-1])

    def poll_streams(self) -> int:
        """Read every stream once and offer what is new to each of its mappings."""
        kept = 0
        for reader, mappings in self.streams.values():
            records = reader.read()
            for mapping in mappings:
                kept += mapping.offer(records)
        return kept

    def _send_failure(self, function: str, destination: Any, message: Mapping[str, Any]) -> None:
        """Lambda sends the on-failure record with the function's execution role."""
        arn = self.template.resolve(destination, self.physical, self.attributes)
        request = {"QueueUrl": self._queue_urls[arn], "MessageBody": json.dumps(message)}
        calls.record((function,), "sqs", "SendMessage", request)
        self.clients.sqs.send_message(**request)

    def drain(self, mappings: list[EventSourceMapping], *, timeout: float = 30.0) -> None:
        """Deliver what these mappings already hold (no new reads) until each is idle."""
        deadline = time.monotonic() + timeout
        while not all(m.idle for m in mappings):
            delivered = [m.deliver() for m in mappings]  # every mapping: no short-circuit
            if not any(delivered):
                time.sleep(0.005)
            if time.monotonic() > deadline:
                raise TimeoutError("delivery did not settle")

    def pump(self, *, timeout: float = 30.0) -> int:
        """Deliver stream records until every mapping is idle and no new records arrive."""
        deadline = time.monotonic() + timeout
        delivered = 0
        while True:
            progressed = False
            self.poll_streams()
            for mapping in self.mappings:
                while mapping.deliver():
                    delivered += 1
                    progressed = True
            if not progressed and all(m.idle for m in self.mappings):
                return delivered
            if time.monotonic() > deadline:
                raise TimeoutError("stream delivery did not settle")
            if not progressed:
                time.sleep(0.005)

    # ------------------------------------------------------------------ HTTP
    def handle_http(self, api: str, request: HttpRequest) -> HttpResponse:
        return self.serve_http(api, request)[0]

    def serve_http(self, api: str, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and the function that produced it ("-" if no route matched)."""
        match = self._routes[api].match(request.method, request.path)
        if match is None:
            return NOT_FOUND, "-"
        assert self.invoker is not None, "start_mappings(invoker) first"
        function = match.route.function
        event = build_event(request, match, api_id=api.lower())
        try:
            result = self.invoker.invoke(function, event)
        except FunctionError as error:
            self.log_line(f"{function} failed: {error}")
            return INTERNAL_ERROR, function
        try:
            return parse_result(result), function
        except (TypeError, ValueError) as error:
            self.log_line(f"{function} returned a malformed response: {error}")
            return INTERNAL_ERROR, function

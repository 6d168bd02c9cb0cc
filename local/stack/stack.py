"""The system described by ``template.yaml``, wired against a DynamoDB/SQS endpoint (moto).

``Stack`` creates the template's tables, queues and secrets, resolves every function's environment, routes
HTTP requests like API Gateway, and runs every stream subscription through an
``EventSourceMapping`` (``local.stack.delivery``). How functions run is pluggable (``Invoker``): in
this process for tests, or in worker processes with their own environment for ``make run``
(``local.stack.run``, which also serves the APIs over HTTP and runs the delivery in threads).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local.aws import calls
from local.aws.apigw import (
    INTERNAL_ERROR,
    NOT_FOUND,
    HttpApiRoutes,
    HttpRequest,
    HttpResponse,
    build_event,
    parse_result,
)
from local.aws.authorizers import Granted, JwtAuthorizer, KeySource
from local.aws.cognito import UserDirectory, create_user_pools, endpoint_keys, in_process_keys
from local.aws.esm import EventSourceMapping, FunctionError, QueueEventSourceMapping, StreamReader, Throttled
from local.aws.functions import function_environment
from local.aws.template import Template, random_password_options, table_definition
from local.demo.users import DEMO_PASSWORD, groups_of
from local.stack import docs
from local.stack.concurrency import ReservedConcurrency, ThrottlingInvoker, throttled_response
from local.stack.delivery import Delivery, Source
from local.stack.invokers import Invoker

log = logging.getLogger("local")

#: Whose token the in-process request helpers send unless told otherwise.
DEFAULT_USER = "admin"


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


class QueueClientFor:
    """The SQS client an SQS event source mapping polls with: records each call as made by the
    mapping's function, as Lambda's poller uses the function's execution role."""

    def __init__(self, client: Any, function: str) -> None:
        self._client = client
        self._function = function

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return method

        def call(**params: Any) -> Any:
            calls.record((self._function,), "sqs", operation, params)
            return method(**params)

        return call


class IteratorAges:
    """Lambda's ``AWS/Lambda`` ``IteratorAge`` metric per stream consumer (``FunctionName``): the
    largest age seen, published at most once a second per function (each publication is one more
    request to the endpoint, which serialises them)."""

    EVERY = 1.0

    def __init__(self, cloudwatch: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._cloudwatch = cloudwatch
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}
        self._published: dict[str, float] = {}

    def record(self, function: str, age_ms: float) -> None:
        now = self._clock()
        with self._lock:
            age = self._pending[function] = max(age_ms, self._pending.get(function, 0.0))
            if now - self._published.get(function, float("-inf")) < self.EVERY:
                return
            self._published[function] = now
            del self._pending[function]
        self._cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "IteratorAge",
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    "Value": age,
                    "Unit": "Milliseconds",
                }
            ],
        )


@dataclass(frozen=True)
class Clients:
    """The AWS clients the stack itself uses (functions make their own)."""

    dynamodb: Any
    streams: Any
    sqs: Any
    secretsmanager: Any
    cognito: Any = None
    cloudwatch: Any = None
    endpoint_url: str | None = None  # None: moto's in-process mock_aws

    @classmethod
    def connect(cls, endpoint_url: str | None = None) -> Clients:
        """Clients of ``endpoint_url`` (the moto server), or of in-process ``mock_aws`` if None."""
        import boto3  # noqa: PLC0415 - only where clients are made

        services = ("dynamodb", "dynamodbstreams", "sqs", "secretsmanager", "cognito-idp", "cloudwatch")
        return cls(*(boto3.client(s, endpoint_url=endpoint_url) for s in services), endpoint_url)

    @property
    def keys(self) -> KeySource:
        """Where the JWT authorizer reads a user pool's keys: the endpoint's JWKS documents."""
        return endpoint_keys(self.endpoint_url) if self.endpoint_url else in_process_keys


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
        queue_visibility: int = 1,
    ) -> None:
        self.template = template
        self.clients = clients
        self.prefix = prefix
        self.region = region
        self.retry_delay = retry_delay
        self.max_parallelization = max_parallelization
        self.queue_visibility = queue_visibility
        self.log_line = log_line or (lambda line: log.info("%s", line))
        self.physical: dict[str, str] = {}
        self.attributes: dict[str, str] = {}
        self._queue_urls: dict[str, str] = {}
        self.delivery = Delivery([], self.log_line)
        self.invoker: Invoker | None = None
        #: Each function's reserved concurrency (the Lambda endpoint's Put/Get/DeleteFunctionConcurrency):
        #: every invocation the stack makes goes through it (``start_mappings``).
        self.concurrency = ReservedConcurrency()
        self.concurrency.subscribe(self._limit_changed)
        self._routes = {api: HttpApiRoutes(template.routes_of(api)) for api in template.http_apis}
        self._authorizers: dict[tuple[str, str], JwtAuthorizer] = {}
        self._directory: UserDirectory | None = None
        self._tokens: dict[str, str] = {}
        self._tokens_lock = threading.Lock()
        #: ``IteratorAge`` to the endpoint's CloudWatch, as Lambda publishes it (``shopctl lag``).
        self.iterator_ages = IteratorAges(clients.cloudwatch) if clients.cloudwatch is not None else None

    # ------------------------------------------------------------------ resources
    def create_resources(self) -> None:
        for logical, properties in self.template.tables.items():
            name = f"{self.prefix}{logical}"
            description = self.clients.dynamodb.create_table(**table_definition(name, properties))
            table = description["TableDescription"]
            self.physical[logical] = name
            self.attributes[f"{logical}.Arn"] = table["TableArn"]
            ttl = properties.get("TimeToLiveSpecification", {})
            if ttl.get("Enabled"):  # moto records it (it expires nothing; readers check expiry)
                self.clients.dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
            if "LatestStreamArn" in table:
                self.attributes[f"{logical}.StreamArn"] = table["LatestStreamArn"]
        for logical in self.template.queues:
            url = self.clients.sqs.create_queue(QueueName=f"{self.prefix}{logical}")["QueueUrl"]
            arn = self.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self.physical[logical] = url
            self.attributes[f"{logical}.Arn"] = arn["Attributes"]["QueueArn"]
            self._queue_urls[self.attributes[f"{logical}.Arn"]] = url
        for logical, resource in self.template.of_type("AWS::SecretsManager::Secret").items():
            # As CloudFormation does: a random value with the template's options, never written down.
            options = random_password_options(resource["Properties"])
            value = self.clients.secretsmanager.get_random_password(**options)["RandomPassword"]
            created = self.clients.secretsmanager.create_secret(
                Name=f"{self.prefix}{logical}", SecretString=value
            )
            self.physical[logical] = created["ARN"]  # a secret's Ref is its ARN
        if self.template.of_type("AWS::Cognito::UserPool"):
            create_user_pools(
                self.template, self.clients.cognito, self.physical, self.attributes, self.prefix, self.region
            )
        self._authorizers = {
            (api, name): JwtAuthorizer(
                str(self.template.resolve(spec.issuer, self.physical, self.attributes)),
                [str(self.template.resolve(a, self.physical, self.attributes)) for a in spec.audience],
                self.clients.keys,
                spec.identity_source,
            )
            for api in self.template.http_apis
            for name, spec in self.template.jwt_authorizers(api).items()
        }

    # ------------------------------------------------------------------ users (Cognito)
    def users(self) -> UserDirectory | None:
        """The template's user pool and app client, when it has exactly one of each."""
        if self._directory is None:
            pools = list(self.template.of_type("AWS::Cognito::UserPool"))
            clients = list(self.template.of_type("AWS::Cognito::UserPoolClient"))
            if len(pools) != 1 or len(clients) != 1 or pools[0] not in self.physical:
                return None
            self._directory = UserDirectory(
                self.clients.cognito, self.physical[pools[0]], self.physical[clients[0]]
            )
        return self._directory

    def token(self, username: str) -> str:
        """An access token of ``username`` (created on first use: ``admin`` in the admin group,
        anyone else a customer), signed in with the real Cognito API."""
        with self._tokens_lock:
            if username not in self._tokens:
                directory = self.users()
                if directory is None:
                    raise LookupError("the template has no user pool with one app client")
                directory.ensure_user(username, DEMO_PASSWORD, groups_of(username))
                self._tokens[username] = directory.sign_in(username, DEMO_PASSWORD)["AccessToken"]
            return self._tokens[username]

    def sub(self, username: str) -> str:
        """A user's ``sub``: the customer id the shop knows them by."""
        self.token(username)
        directory = self.users()
        assert directory is not None
        with self._tokens_lock:
            return directory.ensure_user(username, DEMO_PASSWORD, groups_of(username))

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
        """One event source mapping per subscription; subscriptions of a stream share its reader.

        Every invocation (routes, mappings, the Lambda endpoint) runs through ``self.invoker``: the
        given one behind the functions' reserved concurrency."""
        invoker = self.invoker = ThrottlingInvoker(invoker, self.concurrency)
        sources: dict[tuple[str, str], Source] = {}
        consumers: dict[tuple[str, str], tuple[str, ...]] = {}
        for subscription in self.template.subscriptions:
            key = (subscription.table, subscription.setting("StartingPosition", "TRIM_HORIZON"))
            consumers[key] = (*consumers.get(key, ()), subscription.function)
        for subscription in self.template.subscriptions:
            key = (subscription.table, subscription.setting("StartingPosition", "TRIM_HORIZON"))
            if key not in sources:
                arn = self.attributes[f"{key[0]}.StreamArn"]
                client = StreamsClientFor(self.clients.streams, arn, consumers[key])
                sources[key] = Source(StreamReader(client, arn, key[1]), table=key[0])
            key_schema = self.template.tables[subscription.table]["KeySchema"]
            sources[key].mappings.append(
                EventSourceMapping(
                    subscription,
                    sources[key].reader,
                    invoker.invoke,
                    functools.partial(self._send_failure, subscription.function),
                    partition_key=next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH"),
                    max_parallelization=self.max_parallelization,
                    region=self.region,
                    retry_delay=self.retry_delay,
                    log=self.log_line,
                    iterator_age=self.iterator_ages.record if self.iterator_ages else None,
                )
            )
        queues = [
            QueueEventSourceMapping(
                subscription,
                QueueClientFor(self.clients.sqs, subscription.function),
                self.queue_url(subscription.queue),
                self.attributes[f"{subscription.queue}.Arn"],
                invoker.invoke,
                region=self.region,
                visibility=self.queue_visibility,
                log=self.log_line,
            )
            for subscription in self.template.queue_subscriptions
        ]
        self.delivery = Delivery(sources.values(), self.log_line, queues)

    @property
    def mappings(self) -> list[EventSourceMapping]:
        return self.delivery.mappings

    def _limit_changed(self, function: str) -> None:
        """A function's reserved concurrency changed: its mappings try again now, not after their backoff."""
        for mapping in self.delivery.mappings:
            if mapping.function == function:
                mapping.resume()
        for queue in self.delivery.queues:
            if queue.function == function:
                queue.wakeup.set()

    @property
    def queue_mappings(self) -> list[QueueEventSourceMapping]:
        return self.delivery.queues

    def _send_failure(self, function: str, destination: Any, message: Mapping[str, Any]) -> None:
        """Lambda sends the on-failure record with the function's execution role."""
        arn = self.template.resolve(destination, self.physical, self.attributes)
        request = {"QueueUrl": self._queue_urls[arn], "MessageBody": json.dumps(message)}
        calls.record((function,), "sqs", "SendMessage", request)
        self.clients.sqs.send_message(**request)
        for mapping in self.delivery.queues:  # its SQS event source delivers it now, not at its next poll
            if mapping.queue_arn == arn:
                mapping.wakeup.set()

    # ------------------------------------------------------------------ delivery in this thread
    def poll_streams(self) -> int:
        """Read every stream once and offer what is new to its mappings."""
        return self.delivery.poll()

    def drain(self, mappings: list[EventSourceMapping], *, timeout: float = 30.0) -> None:
        """Deliver what these mappings already hold (no new reads) until each is idle."""
        self.delivery.drain(mappings, timeout=timeout)

    def pump(self, *, timeout: float = 30.0) -> int:
        """Deliver stream records until every mapping is idle and no new records arrive."""
        return self.delivery.pump(timeout=timeout)

    # ------------------------------------------------------------------ HTTP
    def handle_http(self, api: str, request: HttpRequest) -> HttpResponse:
        return self.serve_http(api, request)[0]

    def serve_http(self, api: str, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and what produced it: the function, "-" if no route matched, or the
        authorizer and its reason when it refused the request (no function runs then).

        ``GET /openapi.json`` and ``GET /docs`` are the local stack's own (``local.stack.docs``)."""
        served = docs.answer(api, request)
        if served is not None:
            return served, "openapi"
        match = self._routes[api].match(request.method, request.path)
        if match is None:
            return NOT_FOUND, "-"
        granted = None
        if match.route.authorizer is not None:
            authorizer = self._authorizers[(api, match.route.authorizer)]
            outcome = authorizer.authorize(request.headers, request.query, match.route.scopes)
            if not isinstance(outcome, Granted):
                return outcome.response, f"{match.route.authorizer} ({outcome.reason})"
            granted = outcome.context()
        assert self.invoker is not None, "start_mappings(invoker) first"
        function = match.route.function
        event = build_event(request, match, api_id=api.lower(), authorizer=granted)
        try:
            result = self.invoker.invoke(function, event)
        except Throttled as error:  # the function never ran (AWS: 500; locally 503, concurrency.py)
            return throttled_response(error), f"{function} (throttled)"
        except FunctionError as error:
            self.log_line(f"{function} failed: {error}")
            return INTERNAL_ERROR, function
        try:
            return parse_result(result), function
        except (TypeError, ValueError) as error:
            self.log_line(f"{function} returned a malformed response: {error}")
            return INTERNAL_ERROR, function

    def request(
        self,
        api: str,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        as_user: str | None = DEFAULT_USER,
    ) -> HttpResponse:
        """An HTTP request to one of the stack's APIs, without a server (tests, benchmarks).

        It carries ``as_user``'s access token (the admin's unless told otherwise; ``None``: no token)
        when the template has a user pool, and no ``Authorization`` header is given.
        """
        path, _, query = path.partition("?")
        all_headers = {"content-type": "application/json", **(headers or {})}
        given = any(name.lower() == "authorization" for name in all_headers)
        if as_user is not None and not given and self.users() is not None:
            all_headers["authorization"] = f"Bearer {self.token(as_user)}"
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        return self.handle_http(api, HttpRequest(method, path, query, all_headers, raw))

    def command(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        as_user: str | None = DEFAULT_USER,
    ) -> HttpResponse:
        return self.request("CommandApi", method, path, body, headers, as_user=as_user)

    def query(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        *,
        as_user: str | None = DEFAULT_USER,
    ) -> HttpResponse:
        return self.request("QueryApi", method, path, None, headers, as_user=as_user)

"""What every operation costs, and what a stated month of traffic costs, from the requests the real
handlers make.

Every operation runs through its real Lambda handler, on moto in this process, through the template's
routes and stream subscriptions (``local.stack.inprocess``). Every request a function makes is
recorded (botocore's ``_make_api_call``, while the invoker says which function is running), with the
items it touched read back before and after (not counted), and priced by DynamoDB's sizing rules,
indexes included (``bench.capacity``). Each command's consequences are delivered one subscription at
a time, so every projector and policy step is a row of its own.

The monthly estimate multiplies the measured units by the stated workload and the prices in
``PRICES`` (one place, each with its source). Lambda durations are modelled, not measured on AWS:
the handler's own time measured here (CPU time outside AWS calls), scaled to the CPU share
of its memory size, plus an assumed latency per AWS request (``AWS_CALL_MS``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import statistics
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.capacity import (
    ItemWrite,
    TableSchema,
    index_write_units,
    item_size,
    projected,
    query_read_units,
    read_units,
    table_write_units,
)

# ---------------------------------------------------------------- prices (us-east-1, on demand)

DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
API_GATEWAY_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
SECRETS_MANAGER_PRICING = "https://aws.amazon.com/secrets-manager/pricing/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
XRAY_PRICING = "https://aws.amazon.com/xray/pricing/"
#: Where the post-cut DynamoDB on-demand prices were checked (the AWS page itself is not reachable
#: from here): both say $0.625 per million write and $0.125 per million read request units in US East,
#: half the earlier prices, since the cut of 1 November 2024.
DYNAMODB_PRICE_CHECKS = (
    "https://airbyte.com/data-engineering-resources/dynamodb-pricing (21 July 2025)",
    "https://www.jusdb.com/blog/dynamodb-cost-optimization-a-comprehensive-guide-by-jusdb (19 August 2025)",
)
#: Lambda bills the INIT phase of managed runtimes since 1 August 2025; AWS puts cold starts "under 1 %"
#: of invocations (AWS Compute Blog, "AWS Lambda standardizes billing for INIT Phase", April 2025).
LAMBDA_INIT_BILLING = "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/"


@dataclass(frozen=True)
class Price:
    usd: float  # for ``per`` units
    per: float
    unit: str
    source: str

    def of(self, units: float) -> float:
        return units / self.per * self.usd

    def label(self) -> str:
        per = {1e6: "per million", 1e4: "per 10,000", 1.0: "per"}.get(self.per, f"per {self.per:g}")
        whole, _, cents = f"{self.usd:.10f}".rstrip("0").partition(".")
        return f"${whole}.{cents.ljust(2, '0')} {per} {self.unit}"


PRICES: dict[str, Price] = {
    "wru": Price(0.625, 1e6, "write request units", DYNAMODB_PRICING),
    "rru": Price(0.125, 1e6, "read request units", DYNAMODB_PRICING),
    "storage": Price(0.25, 1.0, "GB-month", DYNAMODB_PRICING),
    "pitr": Price(0.20, 1.0, "GB-month (point-in-time recovery)", DYNAMODB_PRICING),
    "lambda_requests": Price(0.20, 1e6, "requests", LAMBDA_PRICING),
    "lambda_duration": Price(0.0000133334, 1.0, "GB-s (arm64)", LAMBDA_PRICING),
    "http_api": Price(1.00, 1e6, "requests (HTTP API, first 300 M)", API_GATEWAY_PRICING),
    "secret": Price(0.40, 1.0, "secret-month", SECRETS_MANAGER_PRICING),
    "secret_calls": Price(0.05, 1e4, "API calls", SECRETS_MANAGER_PRICING),
    "logs": Price(0.50, 1.0, "GB ingested (CloudWatch Logs, standard)", CLOUDWATCH_PRICING),
    "metrics": Price(0.30, 1.0, "custom metric-month (first 10,000)", CLOUDWATCH_PRICING),
    "alarms": Price(0.10, 1.0, "alarm metric-month (standard resolution)", CLOUDWATCH_PRICING),
    "xray": Price(5.00, 1e6, "traces recorded", XRAY_PRICING),
}

# ---------------------------------------------------------------- assumptions (stated in the output)

#: Bytes DynamoDB adds to every item (and index entry) for storage billing.
STORAGE_OVERHEAD = 100
#: Assumed latency of one AWS request from Lambda in the same region, in ms (DynamoDB answers in
#: single-digit milliseconds; a transaction takes about twice a single write).
AWS_CALL_MS = {"dynamodb": 6.0, "dynamodb:TransactWriteItems": 12.0, "secretsmanager": 20.0}
#: Lambda gives a function one full vCPU at 1,769 MB and a proportional share below: the handler's own
#: time measured here on one core is stretched by 1769 / MemorySize (a Graviton core is taken as fast
#: as this machine's; an assumption).
FULL_VCPU_MB = 1769
#: START, END and REPORT lines Lambda writes per invocation (REPORT with its X-Ray line when tracing).
PLATFORM_LOG_BYTES = 350
#: CloudWatch Logs counts 26 bytes of metadata per log event on top of the message.
LOG_EVENT_OVERHEAD = 26
#: What each variable of an access log format stands for, at typical lengths.
ACCESS_LOG_SAMPLE = {
    "requestId": "Jx9ZlgbJoAMEVsQ=",
    "identity.sourceIp": "203.0.113.17",
    "requestTime": "27/Nov/2026:22:52:42 +0000",
    "httpMethod": "POST",
    "routeKey": "POST /carts/{cartId}/items",
    "status": "200",
    "protocol": "HTTP/1.1",
    "responseLength": "312",
    "responseLatency": "48",
    "integrationLatency": "46",
    "integrationStatus": "200",
    "error.messageString": "null",
}


@dataclass(frozen=True)
class Workload:
    """The stated month: browsing and checkouts a day, spread evenly over the day."""

    product_views: int = 1_000_000
    list_share: float = 0.2  # of views: GET /products (first page); the rest GET /products/{id}
    checkouts: int = 10_000
    lines: int = 3  # products added (one POST each) per checkout
    days: float = 365 / 12
    #: Share of invocations that are cold starts (AWS: "under 1 %"; taken as 1 %, an upper bound).
    cold_start_share: float = 0.01
    #: Billed INIT time of a cold start, in seconds (assumed; see "Cold start" in docs/performance.md).
    init_seconds: float = 1.0

    def describe(self) -> str:
        return (
            f"{self.product_views:,} product views a day ({1 - self.list_share:.0%} `GET /products/{{id}}`,"
            f" {self.list_share:.0%} `GET /products`, first page of 20) and {self.checkouts:,} checkouts a"
            f" day, each: `POST /carts`, {self.lines} x `POST /carts/{{id}}/items` (one product each),"
            " `GET /carts/{id}`, `POST /carts/{id}/checkout`, the whole pipeline (order intake, stock"
            " reservation, fulfilment, every projection) and `GET /orders/{id}`; a month of"
            f" {self.days:.2f} days."
        )


# ---------------------------------------------------------------- what was recorded


@dataclass
class Request:
    function: str
    service: str
    operation: str
    invocation: int  # index of the invocation that made it (``Meter.invocations``)
    table: str = ""
    wcu: float = 0.0
    index_wcu: dict[str, int] = field(default_factory=dict)
    rcu: float = 0.0
    failed: bool = False
    #: Bytes stored after minus before, per table or ``table.index`` (overhead included).
    stored: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        table = f" {self.table}" if self.table else ""
        return self.operation + table + (" (condition failed)" if self.failed else "")


@dataclass
class Invocation:
    function: str
    http: bool
    event_types: tuple[str, ...]
    seconds: float  # CPU time of the invocation (this thread), so other load on the machine does not count
    aws_seconds: float  # of which inside AWS calls (moto, and the meter's own reads)
    aws_ms_model: float
    log_bytes: int
    log_lines: int
    first: bool  # the function's first invocation in this process (imports included)


@dataclass
class Sample:
    requests: list[Request] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)

    def __add__(self, other: Sample) -> Sample:
        return Sample(self.requests + other.requests, self.invocations + other.invocations)

    @property
    def wcu(self) -> float:
        return sum(r.wcu for r in self.requests)

    @property
    def index_wcu(self) -> float:
        return float(sum(sum(r.index_wcu.values()) for r in self.requests))

    @property
    def rcu(self) -> float:
        return sum(r.rcu for r in self.requests)

    def count(self, service: str, operation: str | None = None) -> int:
        return sum(1 for r in self.requests if r.service == service and operation in (None, r.operation))

    def stored(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for request in self.requests:
            total.update(request.stored)
        return total

    @property
    def http_requests(self) -> int:
        return sum(1 for i in self.invocations if i.http)

    def functions(self) -> list[str]:
        return list(dict.fromkeys(i.function for i in self.invocations))

    def event_types(self) -> list[str]:
        return list(dict.fromkeys(t for i in self.invocations for t in i.event_types))


def requests_text(sample: Sample) -> str:
    counts = Counter(r.name for r in sample.requests)
    return ", ".join(name + (f" x{n}" if n > 1 else "") for name, n in counts.items()) or "none"


def index_text(sample: Sample) -> str:
    units: Counter[str] = Counter()
    for request in sample.requests:
        units.update(request.index_wcu)
    return ", ".join(f"{name} {n}" for name, n in units.items())


# ---------------------------------------------------------------- recording


class Meter:
    """Records the AWS requests functions make and their invocations, while ``installed``."""

    def __init__(self, stack: Any) -> None:
        self._stack = stack
        self._client = stack.clients.dynamodb
        self._schemas = {
            stack.physical[logical]: TableSchema.from_template(logical, properties)
            for logical, properties in stack.template.tables.items()
        }
        self.memory = {
            name: int(fn.properties.get("MemorySize", 128)) for name, fn in stack.template.functions.items()
        }
        self._own: dict[str, float] = {}
        self.requests: list[Request] = []
        self.invocations: list[Invocation] = []
        self.log = LogCounter()
        self._aws_seconds = 0.0
        self._aws_ms_model = 0.0
        self._seen: set[str] = set()
        self._original: Callable[..., Any] | None = None

    def mark(self) -> tuple[int, int]:
        return len(self.requests), len(self.invocations)

    def since(self, mark: tuple[int, int]) -> Sample:
        return Sample(self.requests[mark[0] :], self.invocations[mark[1] :])

    @contextlib.contextmanager
    def installed(self) -> Iterator[Meter]:
        from botocore.client import BaseClient  # noqa: PLC0415

        from local.stack.invokers import InProcessInvoker  # noqa: PLC0415

        original_call = BaseClient._make_api_call  # noqa: SLF001
        original_invoke = InProcessInvoker.invoke
        self._original = original_call
        meter = self

        def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            return meter._call(client, operation, params)

        def invoke(invoker: Any, function: str, event: dict[str, Any]) -> Any:
            return meter._invoke(original_invoke, invoker, function, event)

        saved_stdout = sys.stdout
        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]  # noqa: SLF001
        InProcessInvoker.invoke = invoke  # type: ignore[method-assign]
        sys.stdout = self.log  # type: ignore[assignment]
        try:
            yield self
        finally:
            sys.stdout = saved_stdout
            BaseClient._make_api_call = original_call  # type: ignore[method-assign]  # noqa: SLF001
            InProcessInvoker.invoke = original_invoke  # type: ignore[method-assign]

    # ------------------------------------------------------------ invocations
    def _invoke(
        self, original: Callable[..., Any], invoker: Any, function: str, event: dict[str, Any]
    ) -> Any:
        import logging  # noqa: PLC0415

        for handler in [
            h for lg in logging.Logger.manager.loggerDict.values() for h in getattr(lg, "handlers", [])
        ]:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (
                sys.__stdout__,
                sys.__stderr__,
            ):
                handler.setStream(self.log)  # Powertools' Logger writes to the stdout it found
        log_bytes, log_lines = self.log.bytes, self.log.lines
        aws_seconds, aws_ms = self._aws_seconds, self._aws_ms_model
        self.log.function = function
        started = time.thread_time()
        try:
            return original(invoker, function, event)
        finally:
            self.invocations.append(
                Invocation(
                    function,
                    "requestContext" in event,
                    _event_types(event),
                    time.thread_time() - started,
                    self._aws_seconds - aws_seconds,
                    self._aws_ms_model - aws_ms,
                    self.log.bytes - log_bytes,
                    self.log.lines - log_lines,
                    first=function not in self._seen,
                )
            )
            self._seen.add(function)

    def own_ms(self) -> dict[str, float]:
        """Each function's median own time (CPU time outside AWS calls), warm invocations only."""
        times: dict[str, list[float]] = {}
        for invocation in self.invocations:
            if not invocation.first:
                own = max(0.0, invocation.seconds - invocation.aws_seconds) * 1000
                times.setdefault(invocation.function, []).append(own)
        self._own = {function: statistics.median(values) for function, values in times.items()}
        return self._own

    def billed_ms(self, invocation: Invocation) -> float:
        """Modelled billed duration: the function's own time at its memory size's CPU share, plus the
        assumed latency of the AWS requests this invocation made."""
        own = self._own.get(invocation.function, (invocation.seconds - invocation.aws_seconds) * 1000)
        share = min(1.0, self.memory[invocation.function] / FULL_VCPU_MB)
        return float(math.ceil(own / share + invocation.aws_ms_model))

    def memory_gb(self, function: str) -> float:
        return self.memory[function] / 1024

    # ------------------------------------------------------------ requests
    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        from local.aws import calls  # noqa: PLC0415

        assert self._original is not None
        functions = calls.current_functions.get()
        if not functions:
            return self._original(client, operation, params)
        service = client.meta.service_model.service_name
        started = time.thread_time()
        self._aws_ms_model += AWS_CALL_MS.get(f"{service}:{operation}", AWS_CALL_MS.get(service, 10.0))
        try:
            if service == "dynamodb":
                return self._dynamodb(functions[0], client, operation, params)
            request = Request(functions[0], service, operation, len(self.invocations))
            self.requests.append(request)
            return self._original(client, operation, params)
        finally:
            self._aws_seconds += time.thread_time() - started

    def _get(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        assert self._original is not None
        response = self._original(
            self._client, "GetItem", {"TableName": table, "Key": dict(key), "ConsistentRead": True}
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _dynamodb(self, function: str, client: Any, operation: str, params: dict[str, Any]) -> Any:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        assert self._original is not None
        targets = self._targets(operation, params)
        befores = [self._get(table, key) for _, table, key, _ in targets]
        try:
            response = self._original(client, operation, params)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if targets and code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                self.requests.append(self._written(function, operation, targets, befores, failed=True))
            raise
        if targets:
            self.requests.append(self._written(function, operation, targets, befores, failed=False))
        else:
            self.requests.append(self._read(function, operation, params, response))
        return response

    def _targets(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, Any, bool]]:
        """(kind, table, key, transactional) of every item a write request names."""
        if operation == "PutItem":
            schema = self._schemas[params["TableName"]]
            return [("put", params["TableName"], schema.key_of(params["Item"]), False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation.removesuffix("Item").lower(), params["TableName"], params["Key"], False)]
        kinds = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}
        if operation == "TransactWriteItems":
            targets = []
            for action in params["TransactItems"]:
                ((name, body),) = action.items()
                schema = self._schemas[body["TableName"]]
                key = schema.key_of(body["Item"]) if name == "Put" else body["Key"]
                targets.append((kinds[name], body["TableName"], key, True))
            return targets
        if operation == "BatchWriteItem":
            return [
                ("put", table, self._schemas[table].key_of(r["PutRequest"]["Item"]), False)
                if "PutRequest" in r
                else ("delete", table, r["DeleteRequest"]["Key"], False)
                for table, requests in params["RequestItems"].items()
                for r in requests
            ]
        return []

    def _written(
        self,
        function: str,
        operation: str,
        targets: Sequence[tuple[str, str, Any, bool]],
        befores: Sequence[dict[str, Any] | None],
        *,
        failed: bool,
    ) -> Request:
        tables = dict.fromkeys(self._schemas[table].name for _, table, _, _ in targets)
        request = Request(
            function, "dynamodb", operation, len(self.invocations), ", ".join(tables), failed=failed
        )
        for (kind, table, key, transactional), before in zip(targets, befores, strict=True):
            schema = self._schemas[table]
            after = None if failed or kind == "delete" else self._get(table, key)
            if kind == "check":
                after = before
            write = ItemWrite(schema, kind, before, after, failed=failed, transactional=transactional)
            request.wcu += table_write_units(write)
            for index, units in index_write_units(write).items():
                name = f"{schema.name}.{index}"
                request.index_wcu[name] = request.index_wcu.get(name, 0) + units
            if not failed:
                _add_stored(request.stored, schema, before, after)
        return request

    def _read(self, function: str, operation: str, params: Mapping[str, Any], response: Any) -> Request:
        tables = params.get("RequestItems") or {params.get("TableName", ""): None}
        names = [self._schemas[t].name if t in self._schemas else t for t in tables]
        index = f".{params['IndexName']}" if "IndexName" in params else ""
        request = Request(function, "dynamodb", operation, len(self.invocations), ", ".join(names) + index)
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            item = response.get("Item")
            if item is not None and "ProjectionExpression" in params:
                item = self._get(params["TableName"], params["Key"])
            request.rcu = read_units(item_size(item or {}), consistent=consistent)
        elif operation in ("Query", "Scan"):
            request.rcu = query_read_units(response.get("Items", []), consistent=consistent)
        elif operation == "BatchGetItem":
            request.rcu = sum(
                read_units(item_size(item), consistent=consistent)
                for items in response.get("Responses", {}).values()
                for item in items
            )
        elif operation == "TransactGetItems":
            request.rcu = sum(
                2 * read_units(item_size(r.get("Item") or {}), consistent=True)
                for r in response.get("Responses", [])
            )
        return request


def _add_stored(
    stored: dict[str, int],
    schema: TableSchema,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    def size(item: Mapping[str, Any] | None) -> int:
        return item_size(item) + STORAGE_OVERHEAD if item is not None else 0

    stored[schema.name] = stored.get(schema.name, 0) + size(after) - size(before)
    for index in schema.indexes:
        name = f"{schema.name}.{index.name}"
        delta = size(projected(after, schema, index)) - size(projected(before, schema, index))
        if delta:
            stored[name] = stored.get(name, 0) + delta


def _event_types(event: Mapping[str, Any]) -> tuple[str, ...]:
    types: list[str] = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage", {})
        types.extend(image.get("eventTypes", {}).get("SS", []))
    return tuple(dict.fromkeys(types))


class LogCounter:
    """Stands in for stdout: counts what functions log (and keeps their EMF metric documents)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.function = ""
        self.metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        self._pending = ""

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        self.lines += text.count("\n")
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._metrics_of(line)
        return len(text)

    def flush(self) -> None:
        return None

    def _metrics_of(self, line: str) -> None:
        if '"_aws"' not in line:
            return
        document = json.loads(line)
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for dimensions in directive.get("Dimensions", [[]]):
                # In AWS each function logs its own service name; here they share one environment.
                values = tuple(
                    (d, self.function if d == "service" else str(document.get(d))) for d in sorted(dimensions)
                )
                for metric in directive.get("Metrics", []):
                    self.metrics.add((directive["Namespace"], metric["Name"], values))


# ---------------------------------------------------------------- running the operations


@dataclass
class Row:
    label: str
    trigger: str  # the route, or the stream a step was delivered from
    sample: Sample
    step: bool = False  # a consequence of the operation above it


class Session:
    """Runs operations on the stack, records a row for each and for each step that follows."""

    def __init__(self, stack: Any, meter: Meter) -> None:
        from local.aws.apigw import HttpApiRoutes  # noqa: PLC0415

        self.stack = stack
        self.meter = meter
        self.rows: list[Row] = []
        self.record = True
        #: True: every request and every delivery starts cold (cached clients, settings, secrets forgotten).
        self.cold = False
        self._routes = {api: HttpApiRoutes(stack.template.routes_of(api)) for api in stack.template.http_apis}

    def route_of(self, api: str, method: str, path: str) -> str:
        match = self._routes[api].match(method, path.partition("?")[0])
        if match is None:
            raise LookupError(f"{api}: no route for {method} {path}")
        route = match.route
        return f"{route.method} {route.path}" if route.path != "$default" else f"{api} $default"

    def http(
        self,
        label: str,
        api: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        as_user: str | None = "admin",
        deliver: bool = True,
    ) -> Any:
        """One request, recorded as a row, then (``deliver``) every consequence as rows of their own."""
        self._chill()
        mark = self.meter.mark()
        response = self.stack.request(api, method, path, body, headers, as_user=as_user)
        if response.status != status:
            raise RuntimeError(f"{label}: expected {status}, got {response.status}: {response.body!r}")
        if self.record:
            self.rows.append(Row(label, self.route_of(api, method, path), self.meter.since(mark)))
        if deliver:
            self.deliver()
        return response

    def command(self, label: str, method: str, path: str, body: Any = None, **options: Any) -> Any:
        return self.http(label, "CommandApi", method, path, body, **options)

    def query(self, label: str, path: str, **options: Any) -> Any:
        return self.http(label, "QueryApi", "GET", path, **options)

    def deliver(self) -> None:
        """Every consequence, one subscription at a time, until nothing more arrives."""
        while True:
            self.stack.poll_streams()
            delivered = False
            for mapping in self.stack.mappings:
                self._chill()
                mark = self.meter.mark()
                self.stack.drain([mapping])
                sample = self.meter.since(mark)
                if not sample.invocations:
                    continue
                delivered = True
                if self.record:
                    label = f"{mapping.function}: {', '.join(sample.event_types())}"
                    self.rows.append(Row(label, f"{mapping.subscription.table} stream", sample, step=True))
            if not delivered:
                return

    def _chill(self) -> None:
        if self.cold:
            from shop import runtime  # noqa: PLC0415

            runtime.reset()

    @contextlib.contextmanager
    def unrecorded(self) -> Iterator[Sample]:
        """Runs without rows; yields the sample of everything that ran, filled in at the end."""
        mark = self.meter.mark()
        self.record, was = False, self.record
        whole = Sample()
        try:
            yield whole
        finally:
            self.record = was
            taken = self.meter.since(mark)
            whole.requests[:], whole.invocations[:] = taken.requests, taken.invocations


def header(response: Any, name: str) -> str:
    return next(v for k, v in response.headers.items() if k.lower() == name.lower())


def product(sku: str, name: str, category: str = "kitchen", amount: int = 1299) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": name,
        "description": "Porcelain espresso cup, 80 ml, dishwasher safe.",
        "category": category,
        "price": {"amount": amount, "currency": "EUR"},
    }


STOCKED = 20


def setup(session: Session) -> list[str]:
    """A catalog of 30 products in one category, the first ``STOCKED`` with plenty of stock."""
    ids = []
    with session.unrecorded():
        for index in range(30):
            created = session.command(
                "", "POST", "/products", product(f"FILL-{index:02d}", f"Filler {index:02d}"), status=201
            )
            ids.append(created.json()["productId"])
        for pid in ids[:STOCKED]:
            session.command("", "POST", f"/products/{pid}/stock", {"quantity": 1_000_000}, status=200)
        session.command("", "POST", "/nothing-here", status=404, as_user=None)  # the fallbacks' imports
        session.query("", "/nothing-here", status=404, as_user=None)
    return ids


def operations(session: Session, stocked: Sequence[str]) -> None:
    s = session
    # -- catalog commands (CatalogCommands) and their projection
    pid = s.command(
        "Create a product", "POST", "/products", product("CUP-1", "Espresso cup"), status=201
    ).json()["productId"]
    s.command(
        "Create a product whose SKU is taken (409)", "POST", "/products", product("CUP-1", "Cup"), status=409
    )
    s.command(
        "Rename a product (listing keys change)",
        "PATCH",
        f"/products/{pid}",
        {"name": "Espresso cup, white"},
        status=200,
    )
    priced = s.command(
        "Change a price", "PUT", f"/products/{pid}/price", {"amount": 1399, "currency": "EUR"}, status=200
    )
    s.command(
        "Change a price to the same price (no event)",
        "PUT",
        f"/products/{pid}/price",
        {"amount": 1399, "currency": "EUR"},
        status=200,
    )
    s.command(
        "Receive stock, first time (new stock stream)",
        "POST",
        f"/products/{pid}/stock",
        {"quantity": 10},
        status=200,
    )
    s.command("Receive stock again", "POST", f"/products/{pid}/stock", {"quantity": 5}, status=200)
    keyed = {"Idempotency-Key": "bench-cost-1"}
    body = product("CUP-2", "Tea cup")
    s.command(
        "Create a product with an Idempotency-Key", "POST", "/products", body, status=201, headers=keyed
    )
    s.command("The same request again (a replay)", "POST", "/products", body, status=201, headers=keyed)
    with s.unrecorded():
        gone = s.command("", "POST", "/products", product("CUP-3", "Mug"), status=201).json()["productId"]
    s.command(
        "Discontinue a product (leaves the listings)", "POST", f"/products/{gone}/discontinue", status=200
    )
    # A product's row is fed by two streams (product, stock): both in one batch.
    price = {"amount": 1499, "currency": "EUR"}
    s.command("Change a price, then ...", "PUT", f"/products/{pid}/price", price, status=200, deliver=False)
    s.command(
        "... receive stock: one batch for one row",
        "POST",
        f"/products/{pid}/stock",
        {"quantity": 1},
        status=200,
    )

    # -- catalog queries (CatalogQueries)
    got = s.query("Get a product", f"/products/{pid}", status=200, as_user=None)
    s.query(
        "Get a product, If-None-Match matches (304)",
        f"/products/{pid}",
        status=304,
        headers={"If-None-Match": header(got, "ETag")},
        as_user=None,
    )
    s.query(
        "Get a product with X-Consistency-Token (caught up)",
        f"/products/{pid}",
        status=200,
        headers={"X-Consistency-Token": header(priced, "X-Consistency-Token")},
        as_user=None,
    )
    first = s.query("List products, first page of 20", "/products", status=200, as_user=None)
    s.query("List products in a category, first page", "/products?category=kitchen", status=200, as_user=None)
    s.query(
        "List products, next page (cursor)",
        f"/products?cursor={first.json()['nextCursor']}",
        status=200,
        as_user=None,
    )

    # -- a customer's cart (CartCommands, CartQueries), checkout and the whole pipeline
    user = "bench-shopper"
    cart = s.command("Create a cart", "POST", "/carts", {}, status=201, as_user=user).json()["cartId"]
    items = f"/carts/{cart}/items"
    s.command(
        "Add a product (new line)",
        "POST",
        items,
        {"productId": stocked[0], "quantity": 2},
        status=200,
        as_user=user,
    )
    s.command(
        "Add the same product (line grows)",
        "POST",
        items,
        {"productId": stocked[0], "quantity": 1},
        status=200,
        as_user=user,
    )
    with s.unrecorded():
        s.command("", "POST", items, {"productId": stocked[1], "quantity": 1}, status=200, as_user=user)
    s.command(
        "Set a line's quantity", "PUT", f"{items}/{stocked[0]}", {"quantity": 4}, status=200, as_user=user
    )
    s.command("Remove a line", "DELETE", f"{items}/{stocked[1]}", status=200, as_user=user)
    s.query("Get a cart", f"/carts/{cart}", status=200, as_user=user)
    order = s.command(
        "Check out (1 line)", "POST", f"/carts/{cart}/checkout", status=202, as_user=user
    ).json()["orderId"]
    s.query("Get an order", f"/orders/{order}", status=200, as_user=user)
    customer = s.stack.sub(user)
    s.query("List a customer's orders", f"/customers/{customer}/orders", status=200, as_user=user)
    s.command("Cancel an order (stock released)", "POST", f"/orders/{order}/cancel", status=200, as_user=user)

    # -- a checkout the stock cannot serve: the order is rejected
    with s.unrecorded():
        short = s.command("", "POST", "/carts", {}, status=201, as_user=user).json()["cartId"]
        s.command(
            "", "POST", f"/carts/{short}/items", {"productId": pid, "quantity": 99}, status=200, as_user=user
        )
    s.command(
        "Check out, stock short (order rejected)",
        "POST",
        f"/carts/{short}/checkout",
        status=202,
        as_user=user,
    )

    # -- the $default routes (ApiFallback functions)
    s.command("Unknown path on the Command API (404)", "POST", "/nothing-here", status=404, as_user=None)
    s.query("Unknown path on the Query API (404)", "/nothing-here", status=404, as_user=None)


def checkout_journey(
    session: Session, stocked: Sequence[str], lines: int, user: str
) -> tuple[Sample, Sample]:
    """One checkout of the workload, whole (cart to order read) and from the checkout command on."""
    with session.unrecorded() as whole:
        cart = session.command("", "POST", "/carts", {}, status=201, as_user=user).json()["cartId"]
        for index in range(lines):
            line = {"productId": stocked[index % len(stocked)], "quantity": 1}
            session.command("", "POST", f"/carts/{cart}/items", line, status=200, as_user=user)
        session.query("", f"/carts/{cart}", status=200, as_user=user)
        mark = session.meter.mark()
        order = session.command("", "POST", f"/carts/{cart}/checkout", status=202, as_user=user).json()[
            "orderId"
        ]
        checkout = session.meter.since(mark)
        session.query("", f"/orders/{order}", status=200, as_user=user)
    return whole, checkout


def cold_starts(session: Session, stocked: Sequence[str]) -> dict[str, Counter[str]]:
    """The requests other than DynamoDB each function makes in an invocation that starts cold (its
    cached clients, settings and secrets forgotten), the most any of its invocations made: what a new
    execution environment fetches once. Every route and stream step of a journey, and the others."""
    user = "bench-cold"
    session.cold = True
    try:
        with session.unrecorded() as sample:
            checkout_journey(session, stocked, 1, user)
            session.query("", f"/products/{stocked[0]}", status=200, as_user=None)
            session.query("", "/products", status=200, as_user=None)
            session.command(
                "", "PUT", f"/products/{stocked[0]}/price", {"amount": 1299, "currency": "EUR"}, status=200
            )
            orders = session.query(
                "", f"/customers/{session.stack.sub(user)}/orders", status=200, as_user=user
            )
            order = orders.json()["items"][0]["orderId"]
            session.command("", "POST", f"/orders/{order}/cancel", status=200, as_user=user)
            session.command("", "POST", "/nothing-here", status=404, as_user=None)
            session.query("", "/nothing-here", status=404, as_user=None)
    finally:
        session.cold = False
    fetched: dict[str, Counter[str]] = {function: Counter() for function in sample.functions()}
    by_invocation: dict[int, Counter[str]] = {}
    for request in sample.requests:
        if request.service != "dynamodb":
            by_invocation.setdefault(request.invocation, Counter())[request.operation] += 1
    for index, counts in by_invocation.items():
        function = session.meter.invocations[index].function
        fetched[function] = fetched[function] | counts  # the most of any invocation
    for invocation in sample.invocations:
        invocation.first = True  # rebuilt its clients: not a warm invocation's time
    return fetched


# ---------------------------------------------------------------- the month


@dataclass(frozen=True)
class Line:
    item: str
    units: float
    unit: str
    price: Price

    @property
    def cost(self) -> float:
        return self.price.of(self.units)


@dataclass
class Measured:
    """What the month is computed from: one product read, one listing, one whole checkout."""

    view: Sample
    listing: Sample
    journey: Sample
    billed_ms: Callable[[Invocation], float]
    memory_gb: Callable[[str], float]
    secret_functions: frozenset[str]
    metric_series: int
    alarm_metrics: int
    pitr_tables: frozenset[str]
    access_log_bytes: int


def traces_recorded(invocations_per_day: float) -> float:
    """X-Ray's default sampling in Lambda: the first request each second and 5 % of the others,
    for traffic spread evenly over the day."""
    rate = invocations_per_day / 86_400
    return (min(rate, 1.0) + 0.05 * max(rate - 1.0, 0.0)) * 86_400


def monthly(workload: Workload, m: Measured) -> list[Line]:
    """The month's bill, item by item: units = days x sum(samples x their daily count)."""
    per_day = [
        (m.view, workload.product_views * (1 - workload.list_share)),
        (m.listing, workload.product_views * workload.list_share),
        (m.journey, float(workload.checkouts)),
    ]

    def month(of: Callable[[Sample], float]) -> float:
        return workload.days * sum(of(sample) * times for sample, times in per_day)

    def per_invocation(of: Callable[[Invocation], float]) -> Callable[[Sample], float]:
        return lambda sample: sum(of(i) for i in sample.invocations)

    invocations = month(lambda s: len(s.invocations))
    running = month(per_invocation(lambda i: m.billed_ms(i) / 1000 * m.memory_gb(i.function)))
    starting = month(
        per_invocation(lambda i: workload.cold_start_share * workload.init_seconds * m.memory_gb(i.function))
    )
    secret_calls = month(
        per_invocation(lambda i: workload.cold_start_share if i.function in m.secret_functions else 0.0)
    )
    log_bytes = month(
        lambda s: (
            sum(
                i.log_bytes + LOG_EVENT_OVERHEAD * (i.log_lines + 3) + PLATFORM_LOG_BYTES
                for i in s.invocations
            )
            + s.http_requests * (m.access_log_bytes + LOG_EVENT_OVERHEAD)
        )
    )
    daily_by_function: Counter[str] = Counter()
    for sample, times in per_day:
        for invocation in sample.invocations:
            daily_by_function[invocation.function] += times
    traces = workload.days * sum(traces_recorded(n) for n in daily_by_function.values())
    stored = m.journey.stored()
    grown = workload.checkouts * workload.days / 1e9
    storage = sum(stored.values()) * grown
    pitr = sum(v for k, v in stored.items() if k.split(".")[0] in m.pitr_tables) * grown
    return [
        Line(
            "DynamoDB writes (tables and indexes)", month(lambda s: s.wcu + s.index_wcu), "WRU", PRICES["wru"]
        ),
        Line("DynamoDB reads", month(lambda s: s.rcu), "RRU", PRICES["rru"]),
        Line("DynamoDB storage added in the month", storage, "GB", PRICES["storage"]),
        Line("Point-in-time recovery of that storage", pitr, "GB", PRICES["pitr"]),
        Line("Lambda requests", invocations, "requests", PRICES["lambda_requests"]),
        Line("Lambda duration, invocations (modelled)", running, "GB-s", PRICES["lambda_duration"]),
        Line("Lambda duration, cold-start INIT (assumed)", starting, "GB-s", PRICES["lambda_duration"]),
        Line("HTTP API requests", month(lambda s: s.http_requests), "requests", PRICES["http_api"]),
        Line("Secrets Manager secret", 1.0, "secret", PRICES["secret"]),
        Line("Secrets Manager GetSecretValue (cold starts)", secret_calls, "calls", PRICES["secret_calls"]),
        Line("CloudWatch Logs ingestion", log_bytes / 1e9, "GB", PRICES["logs"]),
        Line("CloudWatch custom metrics (EMF)", float(m.metric_series), "metrics", PRICES["metrics"]),
        Line("CloudWatch alarms", float(m.alarm_metrics), "alarm metrics", PRICES["alarms"]),
        Line("X-Ray traces recorded (Tracing: Active)", traces, "traces", PRICES["xray"]),
    ]


# ---------------------------------------------------------------- facts from the template


def alarm_metrics(template: Any) -> int:
    """Metrics the template's alarms watch (a metric-math alarm: each metric it reads)."""
    total = 0
    for alarm in template.of_type("AWS::CloudWatch::Alarm").values():
        queries = alarm["Properties"].get("Metrics")
        total += sum(1 for q in queries if "MetricStat" in q) if queries else 1
    return total


def pitr_tables(template: Any) -> frozenset[str]:
    return frozenset(
        name
        for name, properties in template.tables.items()
        if properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True
    )


def access_log_bytes(template: Any) -> int:
    """One access log line of the template's format, with ``ACCESS_LOG_SAMPLE``'s values."""
    sizes = []
    for api in template.http_apis:
        line = template.resources[api]["Properties"]["AccessLogSettings"]["Format"]
        text = re.sub(r"\$context\.([A-Za-z.]+)", lambda found: ACCESS_LOG_SAMPLE.get(found[1], "-"), line)
        sizes.append(len(text.replace("\n", "").encode()) + 1)
    return max(sizes)


def routes(template: Any) -> set[str]:
    """Every route of the template as the rows name them (``METHOD /path``, or ``Api $default``)."""
    return {f"{r.method} {r.path}" if r.path != "$default" else f"{r.api} $default" for r in template.routes}


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    rows: list[Row]
    by_lines: dict[int, tuple[Sample, Sample]]
    cold: dict[str, Counter[str]]
    measured: Measured
    own_ms: dict[str, float]
    memory: dict[str, int]


LINE_COUNTS = (1, 3, 5, 20)


def run(workload: Workload | None = None, line_counts: Sequence[int] = LINE_COUNTS) -> Result:
    """Every operation, a checkout of each of ``line_counts`` lines (the workload's among them), and
    the cold-start requests, on a fresh in-process stack."""
    from local.stack.inprocess import in_process_stack  # noqa: PLC0415

    workload = workload or Workload()
    if workload.lines not in line_counts:
        raise ValueError(f"the workload's {workload.lines} lines must be among {line_counts}")
    with in_process_stack() as stack:
        # As deployed: INFO logs and EMF metrics on (the local stack turns both down).
        os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
        meter = Meter(stack)
        with meter.installed():
            session = Session(stack, meter)
            stocked = setup(session)
            operations(session, stocked)
            by_lines = {
                lines: checkout_journey(session, stocked, lines, f"bench-{lines}") for lines in line_counts
            }
            cold = cold_starts(session, stocked)
        own = meter.own_ms()
        measured = Measured(
            view=next(r.sample for r in session.rows if r.label == "Get a product"),
            listing=next(r.sample for r in session.rows if r.label == "List products, first page of 20"),
            journey=by_lines[workload.lines][0],
            billed_ms=meter.billed_ms,
            memory_gb=meter.memory_gb,
            secret_functions=frozenset(f for f, fetched in cold.items() if fetched["GetSecretValue"]),
            metric_series=len(meter.log.metrics),
            alarm_metrics=alarm_metrics(stack.template),
            pitr_tables=pitr_tables(stack.template),
            access_log_bytes=access_log_bytes(stack.template),
        )
        return Result(session.rows, by_lines, cold, measured, own, dict(meter.memory))


# ---------------------------------------------------------------- the report


def _units(value: float) -> str:
    return f"{value:g}" if value else "0"


def _other(sample: Sample) -> str:
    counts = Counter(r.operation for r in sample.requests if r.service != "dynamodb")
    return ", ".join(f"{name} x{n}" for name, n in counts.items())


def _dynamodb(sample: Sample) -> Sample:
    return Sample([r for r in sample.requests if r.service == "dynamodb"], sample.invocations)


OPERATIONS_HEADER = (
    "| Operation | Route, or stream delivered | Function | DynamoDB requests | WCU | Index WCU | RCU"
    " | Other requests | Lambda ms (model) |"
)


def operations_table(rows: Sequence[Row], billed_ms: Callable[[Invocation], float]) -> str:
    lines = [OPERATIONS_HEADER, "|---|---|---|---|---:|---|---:|---|---:|"]
    for row in rows:
        sample = row.sample
        index = index_text(sample)
        cells = [
            f"&nbsp;&nbsp;↳ {row.label}" if row.step else row.label,
            f"`{row.trigger}`",
            ", ".join(sample.functions()),
            requests_text(_dynamodb(sample)),
            _units(sample.wcu),
            f"{_units(sample.index_wcu)} ({index})" if index else "0",
            _units(sample.rcu),
            _other(sample),
            " + ".join(f"{billed_ms(i):g}" for i in sample.invocations),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def lines_table(by_lines: Mapping[int, tuple[Sample, Sample]]) -> str:
    rows = [
        "| Lines | Part | DynamoDB requests | WCU | Index WCU | RCU | Invocations | HTTP requests |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for lines, (whole, checkout) in by_lines.items():
        for part, sample in (("checkout command and pipeline", checkout), ("**whole journey**", whole)):
            rows.append(
                f"| {lines} | {part} | {sample.count('dynamodb')} | {_units(sample.wcu)} | "
                f"{_units(sample.index_wcu)} | {_units(sample.rcu)} | {len(sample.invocations)} | "
                f"{sample.http_requests} |"
            )
    return "\n".join(rows)


def cold_table(cold: Mapping[str, Counter[str]]) -> str:
    rows = [
        "| Function | Requests other than DynamoDB, first use in a new execution environment |",
        "|---|---|",
    ]
    for function, fetched in sorted(cold.items()):
        text = ", ".join(f"{name} x{n}" for name, n in fetched.items()) or "none"
        rows.append(f"| {function} | {text} |")
    return "\n".join(rows)


def _amount(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def month_table(bill: Sequence[Line]) -> str:
    rows = ["| Item | Units a month | Price | Cost a month |", "|---|---:|---|---:|"]
    rows += [
        f"| {line.item} | {_amount(line.units)} {line.unit} | {line.price.label()} | ${line.cost:,.2f} |"
        for line in bill
    ]
    total = sum(line.cost for line in bill)
    rows.append(f"| **Total** | | | **${total:,.2f}** |")
    return "\n".join(rows)


def per_unit(sample: Sample, billed_ms: Callable[[Invocation], float]) -> str:
    ms = sum(billed_ms(i) for i in sample.invocations)
    invocations, requests = len(sample.invocations), sample.http_requests
    return (
        f"{_units(sample.wcu + sample.index_wcu)} WRU, {_units(sample.rcu)} RRU, {invocations}"
        f" invocation{'s' * (invocations != 1)} ({ms:g} ms modelled), {requests} HTTP"
        f" request{'s' * (requests != 1)}"
    )


def _paragraph(*parts: str) -> str:
    return textwrap.fill(" ".join(parts), 100, break_long_words=False, break_on_hyphens=False)


def _bullet(*parts: str) -> str:
    return textwrap.fill(
        " ".join(parts),
        100,
        initial_indent="* ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def report(result: Result, workload: Workload | None = None) -> str:
    workload = workload or Workload()
    m = result.measured
    bill = monthly(workload, m)
    total = sum(line.cost for line in bill)
    stored = m.journey.stored()
    leading = sorted(bill, key=lambda line: line.cost, reverse=True)[:3]
    own = ", ".join(f"{f} {ms:.1f}" for f, ms in sorted(result.own_ms.items()))
    latency = ", ".join(f"{k} {v:g} ms" for k, v in AWS_CALL_MS.items())
    growth = ", ".join(f"{k} {v:+,} B" for k, v in stored.items() if v)
    return "\n".join(
        [
            "## Cost: every operation, and a month of a stated workload",
            "",
            _paragraph(
                "`python -m bench --only cost` (`bench/cost.py`, about a minute). Every operation runs "
                "through",
                "its real Lambda handler on moto in process, through the template's routes and stream",
                "subscriptions; every request a function makes is recorded with the items it touched as they",
                "were before and after (read back, not counted). Capacity follows DynamoDB's sizing rules",
                "(`bench/capacity.py`): writes in 1 KB units of the larger of the item before and after, "
                "reads",
                "in 4 KB units (a Query adds up its items first), eventually consistent reads half,",
                "transactions double, a write whose condition fails still pays for the existing item (at "
                "least",
                "1). **Index WCU** are the writes to global secondary indexes, derived from the template's",
                "indexes (all `ProjectionType: ALL`): an item entering or leaving a sparse index costs one",
                "write, a changed index key two (a delete and a put), any other change of a projected",
                "attribute one. Each command's consequences are delivered one subscription at a time, so "
                "each",
                "projector and policy step is a row of its own (↳).",
            ),
            "",
            operations_table(result.rows, m.billed_ms),
            "",
            _paragraph(
                "**Lambda ms (model)**: each function's own time measured here (the median of its warm",
                "invocations: CPU time outside AWS calls), stretched to the CPU share of its `MemorySize`",
                f"(x {FULL_VCPU_MB}/1024 at 1,024 MB), plus an assumed latency per AWS request ({latency}).",
                f"Own time, ms: {own}.",
            ),
            "",
            "### What a new execution environment fetches",
            "",
            _paragraph(
                "Every route and every step of a checkout, each run as its function's first invocation",
                "(cached clients, settings and secrets forgotten); the most any one invocation asked for. "
                "The",
                "signing secret is fetched once, at first use, by the functions that sign or check a",
                "consistency token or a cursor.",
            ),
            "",
            cold_table(result.cold),
            "",
            "### A checkout by its number of lines",
            "",
            _paragraph(
                "The workload's checkout (`POST /carts`, one `POST /carts/{id}/items` per line,",
                "`GET /carts/{id}`, `POST /carts/{id}/checkout` with every step that follows,",
                "`GET /orders/{id}`), with 1 to 20 lines. The reservation is one transaction over every "
                "stock",
                "stream and the reservation stream (2 WCU per item), and each stock stream's ProductsView",
                "update rewrites both listing indexes, so writes grow with the lines.",
            ),
            "",
            lines_table(result.by_lines),
            "",
            "### A month",
            "",
            _paragraph(f"**Workload**: {workload.describe()}"),
            "",
            _paragraph(
                f"Per unit, measured above: a product read {per_unit(m.view, m.billed_ms)}; a listing",
                f"{per_unit(m.listing, m.billed_ms)}; a whole checkout of {workload.lines} lines",
                f"{per_unit(m.journey, m.billed_ms)}.",
            ),
            "",
            month_table(bill),
            "",
            _paragraph(
                "**Formula.** With *V* views a day, a share *l* of them listings, *C* checkouts a day and "
                "*D*",
                "days: units(item) = *D* x (*V*(1-*l*) x u(read) + *V* *l* x u(listing) + *C* x "
                "u(checkout)),",
                "where u(...) is the item's units per operation measured above (WRU = table WCU + index WCU;",
                "Lambda GB-s = the sum over its invocations of modelled billed seconds x MemorySize/1024);",
                "cost = units x price. Storage: the bytes a checkout adds (items and index entries, with 100",
                f"bytes of overhead each: {growth}) x *C* x *D*, the size after the first month, added again",
                "every month (the event stores keep everything; cart and order rows stay too).",
                "Point-in-time recovery is billed on the tables that enable it",
                f"({', '.join(sorted(m.pitr_tables))}).",
            ),
            "",
            _paragraph(
                f"**Total: ${total:,.2f} a month**, led by",
                ", ".join(f"{line.item} (${line.cost:,.2f})" for line in leading) + ".",
            ),
            "",
            "Assumptions, and what is left out:",
            "",
            _bullet(
                "Prices: us-east-1, on demand, as of November 2026; free tiers are **not** subtracted",
                "(Lambda: 1 M requests and 400,000 GB-s a month; X-Ray: 100,000 traces; DynamoDB: 25 GB;",
                "CloudWatch: 10 custom metrics, 10 alarms, 5 GB of logs). DynamoDB's on-demand prices are",
                "half the pre-November-2024 ones, checked against",
                "; ".join(DYNAMODB_PRICE_CHECKS) + ".",
            ),
            _bullet(
                "Lambda duration is a model, not an AWS measurement (above). INIT is billed since August",
                f"2025 ({LAMBDA_INIT_BILLING}): {workload.cold_start_share:.0%} of invocations are taken as",
                f'cold starts (AWS: "under 1 %"), each {workload.init_seconds:g} s of INIT',
                "at the function's memory size; the cold-start section's measurements decide the real",
                "INIT time. Each cold",
                "start of a function that signs fetches the secret once (table above).",
            ),
            _bullet(
                "Logs: what the handlers wrote here at `POWERTOOLS_LOG_LEVEL=INFO` with EMF metrics on,",
                f"{PLATFORM_LOG_BYTES} bytes of START/END/REPORT lines per invocation, one access log line",
                f"per HTTP request ({m.access_log_bytes} bytes: the template's format with typical values)",
                f"and {LOG_EVENT_OVERHEAD} bytes per log event. Custom metrics: the {m.metric_series} metric",
                "series (name and dimensions, per function) seen in this run; alarms: the template's",
                f"{m.alarm_metrics} alarm metrics. Log storage after ingestion (30 days' retention) is "
                "cents.",
            ),
            _bullet(
                "X-Ray: `Tracing: Active` (the template's default), with Lambda's default sampling (the",
                "first request each second and 5 % of the others), taken per function, for traffic spread",
                "evenly over the day (peaks record a smaller share). `Tracing=PassThrough` removes the item.",
            ),
            _bullet(
                "Not in the bill: Cognito (sign-ins; the Lite tier's first 10,000 monthly active users are",
                "free), data transfer out, KMS (AWS-managed keys by default), DynamoDB Streams reads (free",
                "for Lambda triggers), SQS (the on-failure queues see only failures), snapshots (one small",
                "write per 50 events of a cart or a product: docs/snapshots.md), Idempotency-Keys (the",
                "workload sends none; +2 WCU per keyed command, rows above).",
            ),
            "",
            "Prices used (`PRICES` in `bench/cost.py`):",
            "",
            *[f"* {price.label()}: {price.source}" for price in PRICES.values()],
        ]
    )

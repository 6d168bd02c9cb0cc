"""Resilience in the template (issue 12, docs/resilience.md): retry budgets by kind of stream
consumer, reserved concurrency and read-route throttles, the tracing switch, and the alarms, topic
and dashboard that watch it all.

The kinds, the consumers, queues, APIs, functions and services are read from the template, so a
consumer, queue or function added later without its budget or its alarm fails here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from local.aws.functions import function_environment
from local.aws.template import StreamSubscription, Template
from shop.telemetry import Metric

#: The Shop namespace's metric names: the layer emits them (shop.telemetry), alarms and the dashboard
#: read them.
SHOP_METRICS = {metric.value for metric in Metric}
#: DynamoDB Streams keep a record 24 h (services-ddb-params: MaximumRecordAgeInSeconds).
STREAM_RETENTION = 24 * 3600
#: Lambda keeps this much of an account's concurrency unreserved; 1000 is the default limit.
UNRESERVED_MINIMUM, DEFAULT_ACCOUNT_LIMIT = 100, 1000


def with_parameters(**values: str) -> Template:
    template = Template()
    template.parameters.update(values)
    return template


def resolved(template: Template, logical: str, key: str = "Properties") -> Any:
    physical = {name: name for name in template.resources}
    attributes = {
        f"{name}.{a}": f"{name}-{a}" for name in template.resources for a in ("Arn", "QueueName", "StreamArn")
    }
    return template.resolve(template.resources[logical][key], physical, attributes)


def kind(template: Template, subscription: StreamSubscription) -> str:
    """A projector keeps a read table (``*_VIEW_TABLE``) from its own store's stream; a policy
    appends to an event store other than the one it reads (the service it commands)."""
    environment = template.functions[subscription.function].environment
    stores = {v["Ref"] for k, v in environment.items() if k.endswith("_EVENTS_TABLE")}
    views = [k for k in environment if k.endswith("_VIEW_TABLE")]
    if views and stores <= {subscription.table}:
        return "projector"
    if not views and stores and subscription.table not in stores:
        return "policy"
    raise AssertionError(f"{subscription.function}: neither a projector nor a policy")


def consumers_of_kind(template: Template, wanted: str) -> list[StreamSubscription]:
    return [s for s in template.subscriptions if kind(template, s) == wanted]


def test_the_kinds_are_read_from_the_template(template: Template) -> None:
    assert {s.function for s in consumers_of_kind(template, "policy")} == {
        "StockReservationPolicy",
        "OrderIntakePolicy",
        "OrderFulfilmentPolicy",
    }
    assert {s.function for s in consumers_of_kind(template, "projector")} == {
        "CatalogProjector",
        "CartProjector",
        "OrderProjector",
    }


# ---------------------------------------------------------------------- retry budgets
def test_policies_retry_for_hours_and_leave_the_parker_most_of_the_stream_retention(
    template: Template,
) -> None:
    """A policy's record given up is a sale lost until redriven: retries without a count, bounded by
    the record's age (6 h), bisecting to isolate a bad record; the parker then reads the record back
    from the stream, which keeps it 24 h, so at least 18 h are left for that."""
    policies = consumers_of_kind(template, "policy")
    assert policies
    for subscription in policies:
        where = subscription.function
        assert subscription.setting("MaximumRetryAttempts") == -1, where
        assert subscription.setting("MaximumRecordAgeInSeconds") == 6 * 3600, where
        assert STREAM_RETENTION - subscription.setting("MaximumRecordAgeInSeconds") >= 18 * 3600, where
        assert subscription.setting("BisectBatchOnFunctionError") is True, where


def test_projectors_give_up_sooner_than_policies(template: Template) -> None:
    """A projector's record given up is repaired by the next event's gap filling, a redrive or a
    rebuild; blocking its shard (ParallelizationFactor 1) for hours would stale every view on it."""
    policy_age = min(s.setting("MaximumRecordAgeInSeconds") for s in consumers_of_kind(template, "policy"))
    projectors = consumers_of_kind(template, "projector")
    assert projectors
    for subscription in projectors:
        where = subscription.function
        assert 0 < subscription.setting("MaximumRetryAttempts") <= 10, where
        assert 60 <= subscription.setting("MaximumRecordAgeInSeconds") <= 3600 < policy_age, where
        assert subscription.setting("BisectBatchOnFunctionError") is True, where


# ---------------------------------------------------------------------- protection
def reserved(template: Template) -> dict[str, Any]:
    found = {}
    for name in template.functions:
        value = resolved(template, name).get("ReservedConcurrentExecutions")
        if value is not None:
            found[name] = value
    return found


def test_no_concurrency_is_reserved_unless_asked() -> None:
    """A new account may have 10 concurrent executions in all; reserving would fail its deploy."""
    template = with_parameters()
    assert template.parameters["ReserveConcurrency"] == "false"
    assert reserved(template) == {}


def test_asked_browsing_gets_its_own_capacity_and_every_stream_consumer_a_cap() -> None:
    template = with_parameters(ReserveConcurrency="true")
    found = reserved(template)
    consumers = {s.function for s in template.subscriptions}
    assert set(found) == {"CatalogQueries"} | consumers
    browsing = found["CatalogQueries"]
    rate = template.resources["QueryApi"]["Properties"]["RouteSettings"]["GET /products"][
        "ThrottlingRateLimit"
    ]
    assert browsing >= rate * 0.2  # the route's whole rate at 200 ms each
    for function in consumers:
        subscription = next(s for s in template.subscriptions if s.function == function)
        lanes = subscription.setting("ParallelizationFactor", 1)
        assert found[function] >= 4 * lanes, function  # four shards before the cap throttles
    assert sum(found.values()) <= DEFAULT_ACCOUNT_LIMIT - UNRESERVED_MINIMUM


def test_every_read_route_has_its_throttle_and_browsing_the_highest(template: Template) -> None:
    query = template.resources["QueryApi"]["Properties"]
    default = query["DefaultRouteSettings"]
    routes = {f"{r.method} {r.path}" for r in template.routes_of("QueryApi") if r.path != "$default"}
    settings = query["RouteSettings"]
    assert set(settings) == routes  # a key that is not a route fails the deploy
    for route, limits in settings.items():
        assert 0 < limits["ThrottlingRateLimit"] <= limits["ThrottlingBurstLimit"], route
        assert limits["ThrottlingRateLimit"] <= default["ThrottlingRateLimit"], route
        assert limits["ThrottlingBurstLimit"] <= default["ThrottlingBurstLimit"], route
    browsing = {f"{r.method} {r.path}" for r in template.routes_of("QueryApi") if r.authorizer is None}
    browsing.discard("ANY $default")
    assert browsing == {"GET /products", "GET /products/{productId}"}
    slowest_browse = min(settings[r]["ThrottlingRateLimit"] for r in browsing)
    assert all(settings[r]["ThrottlingRateLimit"] < slowest_browse for r in routes - browsing)


def test_the_function_timeouts_are_shorter_than_the_http_api_integration(template: Template) -> None:
    """HTTP API integrations time out at 30 s (the maximum, and the default when TimeoutInMillis is
    not set): every HTTP function must answer before, cold start included (init up to 10 s)."""
    http = {r.function for r in template.routes}
    for name in http:
        function = template.functions[name]
        assert function.properties["Timeout"] + 10 <= 30, name
    for function, _, props in template._events("HttpApi"):
        assert "TimeoutInMillis" not in props, function


# ---------------------------------------------------------------------- tracing
@pytest.mark.parametrize(("tracing", "disabled"), [("Active", "false"), ("PassThrough", "true")])
def test_the_tracing_parameter_drives_lambda_and_powertools_together(tracing: str, disabled: str) -> None:
    template = with_parameters(Tracing=tracing)
    physical = {name: name for name in template.resources}
    assert template.resolve(template.globals["Tracing"], physical) == tracing
    for function in template.functions.values():
        assert "Tracing" not in template.resources[function.logical_id]["Properties"], function.logical_id
        environment = template.resolve(dict(function.environment), physical)
        assert environment["POWERTOOLS_TRACE_DISABLED"] == disabled, function.logical_id


def test_tracing_is_on_by_default_and_off_locally(template: Template) -> None:
    assert template.parameters["Tracing"] == "Active"
    physical = {name: name for name in template.resources}
    for function in template.functions.values():  # no X-Ray daemon locally
        assert function_environment(template, function, physical)["POWERTOOLS_TRACE_DISABLED"] == "true"


# ---------------------------------------------------------------------- alarms
def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template.of_type("AWS::CloudWatch::Alarm").items()}


def watched(template: Template, namespace: str, metric: str, dimension: str) -> Counter[Any]:
    """How many alarms watch ``metric`` for each value of ``dimension`` (plain or metric-math alarms)."""
    found: Counter[Any] = Counter()
    for props in alarms(template).values():
        metrics = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for m in metrics:
            if m.get("Namespace") == namespace and m.get("MetricName") == metric:
                for d in m["Dimensions"]:
                    if d["Name"] == dimension:
                        value = d["Value"]
                        if isinstance(value, dict):
                            value = value.get("Ref") or tuple(value["Fn::GetAtt"])
                        found[value] += 1
    return found


def on_failure_queues(template: Template) -> list[str]:
    return [
        s.setting("DestinationConfig")["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for s in template.subscriptions
    ]


def test_every_stream_consumer_has_its_iterator_age_alarm(template: Template) -> None:
    ages = watched(template, "AWS/Lambda", "IteratorAge", "FunctionName")
    assert ages == Counter({s.function for s in template.subscriptions})


def test_every_on_failure_queue_has_its_depth_alarm(template: Template) -> None:
    depths = watched(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    assert set(template.queues) == set(on_failure_queues(template))
    assert depths == Counter({(queue, "QueueName") for queue in template.queues})


def test_every_function_is_in_exactly_one_throttles_alarm(template: Template) -> None:
    throttles = watched(template, "AWS/Lambda", "Throttles", "FunctionName")
    assert throttles == Counter(set(template.functions))
    for name, props in alarms(template).items():
        if "Metrics" in props:  # the sum over the service's functions is the one returned
            returned = [m for m in props["Metrics"] if m.get("ReturnData", True)]
            assert [m["Expression"] for m in returned] == ["SUM(METRICS())"], name


def test_every_api_has_its_5xx_alarm_on_the_default_stage(template: Template) -> None:
    assert watched(template, "AWS/ApiGateway", "5xx", "ApiId") == Counter(set(template.http_apis))
    assert watched(template, "AWS/ApiGateway", "5xx", "Stage") == Counter(
        {"$default": len(template.http_apis)}
    )


def service_names(template: Template, functions: set[str]) -> set[str]:
    return {template.functions[f].environment["POWERTOOLS_SERVICE_NAME"] for f in functions}


def test_shop_metric_alarms_name_the_services_that_emit_them(template: Template) -> None:
    """Powertools adds the function's ``service`` (POWERTOOLS_SERVICE_NAME) to every metric."""
    consumers = {s.function for s in template.subscriptions}
    commands = {r.function for r in template.routes_of("CommandApi") if r.path != "$default"}
    http = {r.function for r in template.routes if r.path != "$default"}
    assert set(watched(template, "Shop", "RecordsParked", "service")) == service_names(template, consumers)
    assert set(watched(template, "Shop", "CommandFailed", "service")) == service_names(template, commands)
    assert set(watched(template, "Shop", "DependencyUnavailable", "service")) == service_names(template, http)
    for props in alarms(template).values():
        if props.get("Namespace") == "Shop":
            assert props["MetricName"] in SHOP_METRICS


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(template: Template) -> None:
    assert alarms(template)
    for name, props in alarms(template).items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["TreatMissingData"] == "notBreaching", name  # these metrics exist only when it happens
        assert "(docs/resilience.md#alarms)" in props["AlarmDescription"], name


def test_the_topic_has_a_key_cloudwatch_may_use_and_an_email_only_if_given(template: Template) -> None:
    """CloudWatch alarms cannot publish to a topic encrypted with SNS's AWS-managed key."""
    topic = template.resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    key = template.resources["AlarmKey"]
    assert "Condition" not in key
    assert key["Properties"]["EnableKeyRotation"] is True
    [statement] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    subscription = template.resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template.parameters["AlarmEmail"] == ""
    assert not template.condition("HasAlarmEmail", {})
    assert with_parameters(AlarmEmail="ops@example.com").condition("HasAlarmEmail", {})
    pattern = template.document["Parameters"]["AlarmEmail"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "ops@example.com")
    assert not re.fullmatch(pattern, "not an address")


# ---------------------------------------------------------------------- dashboard
def dashboard(template: Template) -> dict[str, Any]:
    [name] = template.of_type("AWS::CloudWatch::Dashboard")
    body = template.resources[name]["Properties"]["DashboardBody"]["Fn::Sub"]
    # What CloudFormation's Fn::Sub makes of it: ${Name} and ${Name.Attr} replaced, ${!x} is ${x}.
    text = re.sub(r"\$\{(?!!)([^}]+)\}", lambda m: f"<{m.group(1)}>", body).replace("${!", "${")
    document: dict[str, Any] = json.loads(text)
    return document


def test_the_dashboard_shows_every_consumer_queue_api_and_function(template: Template) -> None:
    rows = [row for w in dashboard(template)["widgets"] for row in w["properties"]["metrics"]]
    plain = [row for row in rows if isinstance(row[0], str)]

    def shown(namespace: str, metric: str) -> list[str]:
        return [row[3] for row in plain if row[:2] == [namespace, metric]]

    consumers = {s.function for s in template.subscriptions}
    assert sorted(shown("AWS/Lambda", "IteratorAge")) == sorted(f"<{f}>" for f in consumers)
    assert sorted(shown("AWS/SQS", "ApproximateNumberOfMessagesVisible")) == sorted(
        f"<{q}.QueueName>" for q in template.queues
    )
    assert sorted(shown("AWS/ApiGateway", "5xx")) == sorted(f"<{a}>" for a in template.http_apis)
    assert sorted(shown("AWS/Lambda", "Throttles")) == sorted(f"<{f}>" for f in template.functions)


def test_the_dashboard_searches_every_shop_metric_by_its_name(template: Template) -> None:
    expressions = [
        row[0]["expression"]
        for w in dashboard(template)["widgets"]
        for row in w["properties"]["metrics"]
        if isinstance(row[0], dict)
    ]
    names = {re.search(r'MetricName="(\w+)"', e).group(1) for e in expressions}  # type: ignore[union-attr]
    assert names == SHOP_METRICS
    lag = [e for e in expressions if '"ProjectionLag"' in e]
    assert lag == ["SEARCH('{Shop,consumer,service} MetricName=\"ProjectionLag\"', 'Maximum', 60)"]

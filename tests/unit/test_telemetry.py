"""Metrics as CloudWatch EMF, written once per invocation; Tracer and X-Ray only when tracing is on
and only once a function runs (``shop.telemetry``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shop import telemetry
from shop.telemetry import Metric

ROOT = Path(__file__).resolve().parents[2]


def emf_documents(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def single(value: Any) -> Any:
    """Powertools writes a count as a list of its values (one per invocation here)."""
    if isinstance(value, list):
        [value] = value
    return value


def metrics_of(document: dict[str, Any]) -> dict[str, Any]:
    [directive] = document["_aws"]["CloudWatchMetrics"]
    return {
        "namespace": directive["Namespace"],
        "dimensions": directive["Dimensions"],
        "units": {m["Name"]: m["Unit"] for m in directive["Metrics"]},
        "values": {m["Name"]: single(document[m["Name"]]) for m in directive["Metrics"]},
    }


@pytest.fixture
def enabled(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "order-projector")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    telemetry.reset()
    yield
    telemetry.reset()


def counting(event: dict[str, Any], context: Any) -> dict[str, Any]:
    del context
    for metric, value in event["counts"]:
        telemetry.count(Metric(metric), value)
    for consumer, milliseconds in event.get("lags", []):
        telemetry.lag(consumer, milliseconds)
    return {}


@pytest.mark.usefixtures("enabled")
def test_an_invocations_counts_go_out_as_one_emf_document_in_the_shop_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = telemetry.instrumented(counting)

    handler({"counts": [("CommandAccepted", 1), ("ConcurrencyRetry", 2), ("CommandAccepted", 1)]}, None)

    [document] = emf_documents(capsys.readouterr().out)
    assert metrics_of(document) == {
        "namespace": "Shop",
        "dimensions": [["service"]],
        "units": {"CommandAccepted": "Count", "ConcurrencyRetry": "Count"},
        "values": {"CommandAccepted": 2.0, "ConcurrencyRetry": 2.0},
    }
    assert document["service"] == "order-projector"


@pytest.mark.usefixtures("enabled")
def test_projection_lag_is_in_milliseconds_per_consumer(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.instrumented(counting)(
        {"counts": [("RecordsParked", 3)], "lags": [("OrderProjector", 1500)]}, None
    )

    counts, lag = emf_documents(capsys.readouterr().out)
    assert metrics_of(counts)["values"] == {"RecordsParked": 3.0}
    assert metrics_of(lag) == {
        "namespace": "Shop",
        "dimensions": [["service", "consumer"]],
        "units": {"ProjectionLag": "Milliseconds"},
        "values": {"ProjectionLag": 1500.0},
    }
    assert (lag["service"], lag["consumer"]) == ("order-projector", "OrderProjector")


@pytest.mark.usefixtures("enabled")
def test_the_namespace_is_the_environments_when_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ShopStaging")
    telemetry.instrumented(counting)({"counts": [("CommandRejected", 1)]}, None)
    [document] = emf_documents(capsys.readouterr().out)
    assert metrics_of(document)["namespace"] == "ShopStaging"


@pytest.mark.usefixtures("enabled")
def test_metrics_are_written_even_when_the_handler_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        telemetry.count(Metric.CONCURRENCY_CONFLICT)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        telemetry.instrumented(failing)({}, None)
    [document] = emf_documents(capsys.readouterr().out)
    assert metrics_of(document)["values"] == {"ConcurrencyConflict": 1.0}


@pytest.mark.usefixtures("enabled")
def test_nothing_is_built_or_written_when_nothing_was_counted(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.instrumented(counting)({"counts": []}, None)
    assert capsys.readouterr().out == ""
    assert telemetry.metrics.cache_info().currsize == 0


def test_nothing_is_built_or_written_when_metrics_are_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    assert os.environ["POWERTOOLS_METRICS_DISABLED"] == "true"  # tests/conftest.py
    telemetry.reset()
    telemetry.instrumented(counting)({"counts": [("CommandAccepted", 1)], "lags": [("X", 1)]}, None)
    assert capsys.readouterr().out == ""
    assert telemetry.metrics.cache_info().currsize == 0


@pytest.mark.usefixtures("enabled")
def test_counting_outside_an_invocation_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.count(Metric.COMMAND_ACCEPTED)  # shopctl redrive runs the batch code like this
    telemetry.instrumented(counting)({"counts": [("CommandRejected", 1)]}, None)
    [document] = emf_documents(capsys.readouterr().out)
    assert metrics_of(document)["values"] == {"CommandRejected": 1.0}


def test_the_metric_names_are_the_ones_the_template_reads() -> None:
    assert {metric.value for metric in Metric} == {
        "CommandAccepted",
        "CommandRejected",
        "CommandFailed",
        "DependencyUnavailable",
        "ConcurrencyRetry",
        "ConcurrencyConflict",
        "IdempotentReplay",
        "ProjectionLag",
        "RecordsParked",
    }
    assert (telemetry.DEFAULT_NAMESPACE, telemetry.SERVICE, telemetry.CONSUMER) == (
        "Shop",
        "service",
        "consumer",
    )


@pytest.mark.parametrize(
    ("value", "enabled"), [("true", False), ("TRUE", False), ("1", False), ("false", True), ("0", True)]
)
def test_tracing_follows_powertools_trace_disabled(
    monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert telemetry.tracing_enabled() is enabled


GUARD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from local.aws.template import Template
    from local.aws.functions import LambdaContext, load_handler

    template = Template()
    handlers = {name: load_handler(function) for name, function in template.functions.items()}
    imported = sorted(name for name in sys.modules if name.split(".")[0] == "aws_xray_sdk")
    from local.aws.apigw import HttpRequest, RouteMatch, build_event
    from local.aws.template import HttpRoute
    route = RouteMatch(HttpRoute("CommandApi", "ANY", "$default", "CommandApiFallback"), {})
    event = build_event(HttpRequest("GET", "/nowhere", headers={}, body=b""), route, api_id="api")
    answer = handlers["CommandApiFallback"](event, LambdaContext("CommandApiFallback"))
    assert answer["statusCode"] == 404, answer
    invoked = sorted(name for name in sys.modules if name.split(".")[0] == "aws_xray_sdk")
    print(json.dumps({"functions": len(handlers), "imported": imported, "invoked": invoked}))
    """
)


def import_every_function(trace_disabled: str) -> dict[str, Any]:
    """Import every ``functions/*/app.py`` (and run one) in a fresh interpreter; what it imported."""
    environment = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": trace_disabled,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers/shop"), str(ROOT)]),
    }
    result = subprocess.run(
        [sys.executable, "-c", GUARD], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_no_function_imports_the_xray_sdk_when_tracing_is_disabled() -> None:
    """Module names, not times: cold start never pays for X-Ray where tracing is off."""
    seen = import_every_function("true")
    assert seen["functions"] >= 13
    assert seen["imported"] == []
    assert seen["invoked"] == []


def test_with_tracing_on_importing_a_function_still_leaves_the_xray_sdk_for_its_first_invocation() -> None:
    seen = import_every_function("false")
    assert seen["imported"] == []  # the Tracer is built in the first invocation, not at import
    assert seen["invoked"] != []  # ... and it is built there

"""template.yaml is the source of truth; these tests hold the code and the template to each other."""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import pytest

from local.aws.functions import load_handler
from local.aws.template import Template
from shop import apis


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def route_set(routes: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(method, normalise(path)) for method, path in routes}


def http_functions(template: Template) -> dict[str, set[tuple[str, str]]]:
    declared: dict[str, set[tuple[str, str]]] = {}
    for route in template.routes:
        if route.path != "$default":
            declared.setdefault(route.function, set()).add((route.method, normalise(route.path)))
    return declared


def test_routes_in_the_template_are_the_routes_the_handlers_serve(template: Template) -> None:
    for function, routes in http_functions(template).items():
        handler = load_handler(template.functions[function])
        assert route_set(handler.routes) == routes, function  # type: ignore[attr-defined]


def test_each_api_fallback_knows_exactly_the_api_routes(template: Template) -> None:
    for api, routers in [("CommandApi", apis.command_api()), ("QueryApi", apis.query_api())]:
        in_template = {(r.method, normalise(r.path)) for r in template.routes_of(api) if r.path != "$default"}
        assert route_set(apis.routes(routers)) == in_template, api
        defaults = [r for r in template.routes_of(api) if r.path == "$default"]
        assert len(defaults) == 1, f"{api} needs one $default route for 404/405 problems"


def test_no_route_is_served_twice(template: Template) -> None:
    keys = Counter((r.api, r.method, normalise(r.path)) for r in template.routes)
    assert [key for key, count in keys.items() if count > 1] == []


def test_every_stream_consumer_has_the_required_settings(template: Template) -> None:
    assert template.subscriptions, "no stream consumers"
    for subscription in template.subscriptions:
        setting = subscription.setting
        where = f"{subscription.function}.{subscription.name}"
        assert setting("StartingPosition") == "TRIM_HORIZON", where
        assert setting("FunctionResponseTypes") == ["ReportBatchItemFailures"], where
        assert setting("BisectBatchOnFunctionError") is True, where
        # The retry budgets differ by kind of consumer: tests/template/test_resilience.py.
        on_failure = setting("DestinationConfig")["OnFailure"]
        assert on_failure["Type"] == "SQS", where
        queue = on_failure["Destination"]["Fn::GetAtt"][0]
        assert template.resources[queue]["Type"] == "AWS::SQS::Queue", where
        filters = setting("FilterCriteria")["Filters"]
        assert filters, where
        assert all("Pattern" in f for f in filters), where


def test_no_stream_has_more_than_two_consumers(template: Template) -> None:
    consumers = Counter(s.table for s in template.subscriptions)
    assert all(count <= 2 for count in consumers.values()), consumers


def event_store_tables(template: Template) -> list[str]:
    return [name for name in template.tables if name.endswith("EventStore")]


def test_event_stores_are_protected_and_streamed(template: Template) -> None:
    stores = event_store_tables(template)
    assert stores
    for name in stores:
        resource = template.resources[name]
        props = resource["Properties"]
        assert resource["DeletionPolicy"] == "Retain", name
        assert resource["UpdateReplacePolicy"] == "Retain", name
        assert props["DeletionProtectionEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE", name
        assert [k["AttributeName"] for k in props["KeySchema"]] == ["streamId", "version"], name


def test_every_table_is_encrypted(template: Template) -> None:
    for name, props in template.tables.items():
        assert props["SSESpecification"]["SSEEnabled"] is True, name


def test_the_idempotency_table_is_what_powertools_expects_and_expires_its_records(template: Template) -> None:
    """Powertools' ``DynamoDBPersistenceLayer`` defaults: partition key ``id`` (no sort key), the
    record's expiry in ``expiration`` (epoch seconds), which is the table's TTL attribute."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    layer = DynamoDBPersistenceLayer(table_name="IdempotencyTable")
    props = template.tables["IdempotencyTable"]
    assert props["KeySchema"] == [{"AttributeName": layer.key_attr, "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": layer.expiry_attr, "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "StreamSpecification" not in props  # nothing consumes it
    users = {f.logical_id for f in template.functions.values() if "IDEMPOTENCY_TABLE" in f.environment}
    assert users == {r.function for r in template.routes_of("CommandApi") if r.path != "$default"}


@pytest.mark.parametrize(
    "variable",
    [
        "CATALOG_EVENTS_TABLE",
        "PRODUCTS_VIEW_TABLE",
        "CART_EVENTS_TABLE",
        "CART_SNAPSHOTS_TABLE",
        "CATALOG_SNAPSHOTS_TABLE",
        "CARTS_VIEW_TABLE",
        "ORDER_EVENTS_TABLE",
        "ORDERS_VIEW_TABLE",
        "IDEMPOTENCY_TABLE",
    ],
)
def test_environment_references_resolve_to_template_resources(template: Template, variable: str) -> None:
    for function in template.functions.values():
        value = function.environment.get(variable)
        if value is not None:
            assert value["Ref"] in template.tables, (function.logical_id, variable)


def test_functions_run_python_313_on_the_architecture_parameter(template: Template) -> None:
    assert template.globals["Runtime"] == "python3.13"
    assert template.globals["Architectures"] == [{"Ref": "Architecture"}]
    assert template.parameters["Architecture"] == "arm64"
    layer = template.resources["ShopLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # layers/shop/Makefile: bytecode, both arches


def test_the_layer_build_ships_bytecode_the_runtime_can_use_on_either_architecture(
    template: Template,
) -> None:
    """What `sam build` runs for the layer, read from make's dry run (nothing is built or downloaded)."""
    layer = template.resources["ShopLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shop"
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "build-ShopLayer", "ARTIFACTS_DIR=/artifacts"],
        cwd=template.root / "layers" / "shop",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The pyc magic number changes with each minor version: the runtime's (3.13) compiles, or nothing does.
    assert "sys.version_info[:2] != (3, 13)" in dry_run
    (compile_line,) = [line for line in dry_run.splitlines() if "compileall" in line]
    # Unchecked hashes: zip's 2-second mtimes would make timestamp .pycs stale at random on a read-only /opt.
    assert compile_line.startswith("python3.13 -m compileall ")
    assert "--invalidation-mode unchecked-hash" in compile_line
    assert compile_line.endswith('"/artifacts/python"')
    # Wheels for the runtime, never built here; both architectures, as make is not told which one.
    (install,) = [line for line in dry_run.splitlines() if "pip install" in line]
    for option in (
        "--only-binary=:all:",
        "--implementation cp",
        "--python-version 3.13",
        "-r requirements.txt",
    ):
        assert option in install
    assert "for arch in aarch64 x86_64; do" in dry_run
    assert "--platform manylinux2014_$arch" in dry_run


def test_samconfig_has_default_and_prod_environments(template: Template) -> None:
    import tomllib  # noqa: PLC0415

    config = tomllib.loads((template.root / "samconfig.toml").read_text())
    assert {"default", "prod"} <= set(config)
    for environment in ("default", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        overrides = deploy["parameter_overrides"]
        assert all(name in template.parameters for name in (p.split("=")[0] for p in overrides.split()))

"""The template's hardening (issue 9, docs/security.md): encryption at rest with the key chosen by
a parameter, log groups with retention, API throttling per write route, access logs, CORS, and no
secret in any function's environment. checkov (``make checkov``) scans the same template; these
tests pin what it cannot see: the values under each parameter, and the shapes the code relies on.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local.aws.functions import function_environment
from local.aws.template import Function, Template
from tests.support.iam import translate

KEY_ID = "key-1234"
KEY_ARN = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"


def with_parameters(**values: str) -> Template:
    template = Template()
    template.parameters.update(values)
    return template


def resolved(template: Template, logical: str) -> dict[str, Any]:
    """A resource's properties as CloudFormation would deploy them (conditions decided)."""
    properties: dict[str, Any] = template.resolve(
        template.resources[logical]["Properties"], {"DataKey": KEY_ID}, {"DataKey.Arn": KEY_ARN}
    )
    return properties


def names_of(template: Template, resource_type: str) -> list[str]:
    names = list(template.of_type(resource_type))
    assert names, resource_type
    return names


# ---------------------------------------------------------------------- encryption at rest
def test_by_default_aws_managed_keys_encrypt_tables_queues_the_secret_and_logs() -> None:
    template = with_parameters()
    assert template.parameters["CustomerManagedKey"] == "false"

    for table in names_of(template, "AWS::DynamoDB::Table"):
        assert resolved(template, table)["SSESpecification"] == {"SSEEnabled": True}, table
    for queue in names_of(template, "AWS::SQS::Queue"):
        props = resolved(template, queue)
        assert props["SqsManagedSseEnabled"] is True, queue
        assert "KmsMasterKeyId" not in props, queue
    for secret in names_of(template, "AWS::SecretsManager::Secret"):
        assert "KmsKeyId" not in resolved(template, secret), secret
    for group in names_of(template, "AWS::Logs::LogGroup"):
        assert "KmsKeyId" not in resolved(template, group), group
    assert not template.condition("UseCustomerManagedKey", {})


def test_a_customer_managed_key_encrypts_every_table_queue_secret_and_log_group() -> None:
    template = with_parameters(CustomerManagedKey="true")

    for table in names_of(template, "AWS::DynamoDB::Table"):
        assert resolved(template, table)["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KEY_ID,
        }, table
    for queue in names_of(template, "AWS::SQS::Queue"):
        props = resolved(template, queue)
        assert props["KmsMasterKeyId"] == KEY_ID, queue
        assert "SqsManagedSseEnabled" not in props, queue  # the two are exclusive
    for secret in names_of(template, "AWS::SecretsManager::Secret"):
        assert resolved(template, secret)["KmsKeyId"] == KEY_ID, secret
    for group in names_of(template, "AWS::Logs::LogGroup"):
        assert resolved(template, group)["KmsKeyId"] == KEY_ARN, group  # Logs wants the key's ARN


def test_the_key_exists_only_when_chosen_is_rotated_and_outlives_the_stack() -> None:
    key = Template().resources["DataKey"]

    assert key["Condition"] == "UseCustomerManagedKey"
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")  # like the stores
    assert key["Properties"]["EnableKeyRotation"] is True


def test_the_key_policy_delegates_to_iam_and_lets_logs_use_it_for_this_stack_only() -> None:
    admin, logs = Template().resources["DataKey"]["Properties"]["KeyPolicy"]["Statement"]

    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    groups = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert all("${AWS::StackName}/*" in g["Fn::Sub"] for g in groups)
    prefixes = {g["Fn::Sub"].split("log-group:")[1].split("${AWS::StackName}")[0] for g in groups}
    names = {
        props["LogGroupName"]["Fn::Sub"].split("${AWS::StackName}")[0]
        for props in (r["Properties"] for r in Template().of_type("AWS::Logs::LogGroup").values())
    }
    assert names == prefixes  # every log group of the stack, and nothing else


def test_every_log_group_keeps_logs_for_the_retention_parameter(template: Template) -> None:
    assert template.parameters["LogRetentionInDays"] == 30
    for group, resource in template.of_type("AWS::Logs::LogGroup").items():
        assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}, group
        assert "${AWS::StackName}" in resource["Properties"]["LogGroupName"]["Fn::Sub"], group


# ---------------------------------------------------------------------- the APIs
def api(template: Template, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template.resources[name]["Properties"]
    return properties


def test_every_write_route_has_its_own_throttle_within_the_stage_default(template: Template) -> None:
    command = api(template, "CommandApi")
    default = command["DefaultRouteSettings"]
    routes = {f"{r.method} {r.path}" for r in template.routes_of("CommandApi") if r.path != "$default"}

    assert set(command["RouteSettings"]) == routes  # a key that is not a route fails the deploy
    for route, limits in command["RouteSettings"].items():
        assert 0 < limits["ThrottlingRateLimit"] <= default["ThrottlingRateLimit"], route
        assert limits["ThrottlingRateLimit"] <= limits["ThrottlingBurstLimit"], route
        assert limits["ThrottlingBurstLimit"] <= default["ThrottlingBurstLimit"], route
    query = api(template, "QueryApi")["DefaultRouteSettings"]
    assert query["ThrottlingRateLimit"] > 0
    assert query["ThrottlingBurstLimit"] > 0


@pytest.mark.parametrize("name", ["CommandApi", "QueryApi"])
def test_access_logs_are_one_json_object_per_request_without_headers(template: Template, name: str) -> None:
    settings = api(template, name)["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"]
    assert group[1] == "Arn"
    assert template.resources[group[0]]["Type"] == "AWS::Logs::LogGroup"
    log_format: str = settings["Format"]

    # What API Gateway writes: each $context variable replaced by its value (`-` when absent);
    # ...String variables are already quoted.
    line = re.sub(r"\$context\.[\w.]+String", '"an \\\\"error\\\\""', log_format)
    line = re.sub(r"\$context\.[\w.]+", "-", line)
    entry = json.loads(line)

    assert {"requestId", "ip", "route", "status", "latency"} <= set(entry)
    assert "\n" not in log_format
    assert not re.search(r"header|authori[sz]|requestOverride|\$input|body", log_format, re.IGNORECASE)


def test_cors_is_off_unless_origins_are_given(template: Template) -> None:
    assert template.parameters["AllowedOrigins"] == ""
    assert not template.condition("HasAllowedOrigins", {})
    assert with_parameters(AllowedOrigins="https://shop.example.com").condition("HasAllowedOrigins", {})
    for name in ("CommandApi", "QueryApi"):
        condition, when_given, otherwise = api(template, name)["CorsConfiguration"]["Fn::If"]
        assert (condition, otherwise) == ("HasAllowedOrigins", {"Ref": "AWS::NoValue"}), name
        assert when_given["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]}, name
        assert "AllowCredentials" not in when_given, name  # tokens travel in Authorization
        assert "authorization" in when_given["AllowHeaders"], name
        assert "etag" in when_given["ExposeHeaders"], name
    assert api(template, "QueryApi")["CorsConfiguration"]["Fn::If"][1]["AllowMethods"] == ["GET"]


@pytest.mark.parametrize(
    ("origins", "allowed"),
    [
        ("", True),
        ("https://shop.example.com", True),
        ("https://shop.example.com,http://localhost:5173", True),
        ("*", False),
        ("https://*.example.com", False),
        ("https://a.example.com, https://b.example.com", False),
        ("shop.example.com", False),
    ],
)
def test_origins_are_explicit_urls_never_a_wildcard(template: Template, origins: str, allowed: bool) -> None:
    pattern = template.document["Parameters"]["AllowedOrigins"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, origins)) is allowed


def test_sam_carries_the_origins_into_the_deployed_api(template: Template) -> None:
    """SAM resolves parameters inside CorsConfiguration itself, before CloudFormation: the origins
    stay one string that CloudFormation splits, and the condition stays in the OpenAPI body."""
    document = json.loads(json.dumps(template.document))
    document["Parameters"]["AllowedOrigins"]["Default"] = "https://a.example.com,https://b.example.com"
    deployed = translate(document)["Resources"]

    for name in ("CommandApi", "QueryApi"):
        cors = deployed[name]["Properties"]["Body"]["x-amazon-apigateway-cors"]
        condition, when_given, otherwise = cors["Fn::If"]
        assert (condition, otherwise) == ("HasAllowedOrigins", {"Ref": "AWS::NoValue"}), name
        assert when_given["allowOrigins"] == {
            "Fn::Split": [",", "https://a.example.com,https://b.example.com"]
        }, name


# ---------------------------------------------------------------------- secrets
def test_no_function_environment_carries_a_secret(template: Template) -> None:
    secrets = set(template.of_type("AWS::SecretsManager::Secret"))
    assert secrets
    for function in template.functions.values():
        for name, value in function.environment.items():
            assert "{{resolve:" not in json.dumps(value), (function.logical_id, name)
            refers_to = value.get("Ref") if isinstance(value, dict) else None
            if refers_to in secrets or "SECRET" in name:
                assert name.endswith("_SECRET_ID"), (function.logical_id, name)
                assert refers_to in secrets, (function.logical_id, name)  # the ARN, not the value


def test_the_functions_that_sign_cursors_or_tokens_name_the_signing_secret(template: Template) -> None:
    signers = (
        "CatalogCommands",
        "CartCommands",
        "OrderCommands",
        "CatalogQueries",
        "CartQueries",
        "OrderQueries",
    )
    for function in signers:
        assert template.functions[function].environment["SIGNING_SECRET_ID"] == {"Ref": "SigningSecret"}


def test_locally_a_dynamic_reference_in_the_environment_is_refused(template: Template) -> None:
    """It would put the secret into the function's configuration in plain text at deploy time."""
    leaky = Function(
        "Leaky",
        template.root,
        "app.handler",
        {},
        {"CURSOR_SECRET": "{{resolve:secretsmanager:SigningSecret:SecretString}}"},
    )

    with pytest.raises(ValueError, match=r"Leaky\.CURSOR_SECRET: a dynamic reference"):
        function_environment(template, leaky, {})

"""The IAM call-coverage checker itself (tests/support/iam.py): it must fail what AWS would deny.

Every integration and e2e test checks the calls its functions made (tests/conftest.py,
tests/e2e/conftest.py); these tests make sure that check cannot pass by not looking.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from local.aws.calls import Call
from local.aws.template import TEMPLATE
from tests.support.iam import Policies, Unsupported, assert_allowed, check, template_policies, translate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table"


def sam_template(*statements: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    """A table, its view, a queue and one function ``Writer`` granted ``statements``."""
    writer: dict[str, Any] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "functions/writer",
            "Handler": "app.handler",
            "Runtime": "python3.13",
            "Policies": [{"Statement": list(statements)}] if statements else [],
        },
    }
    if stream:
        writer["Properties"]["Events"] = {
            "Changes": {
                "Type": "DynamoDB",
                "Properties": {
                    "Stream": {"Fn::GetAtt": ["Store", "StreamArn"]},
                    "StartingPosition": "TRIM_HORIZON",
                    "DestinationConfig": {
                        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["WriterDLQ", "Arn"]}}
                    },
                },
            }
        }
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
        },
    }
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Store": table,
            "View": copy.deepcopy(table),
            "WriterDLQ": {"Type": "AWS::SQS::Queue"},
            "OtherQueue": {"Type": "AWS::SQS::Queue"},
            "Writer": writer,
        },
    }


def allow(*actions: str, resource: Any = None) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": resource or {"Fn::GetAtt": ["Store", "Arn"]},
    }


def policies(*statements: dict[str, Any], stream: bool = False) -> Policies:
    return Policies(translate(sam_template(*statements, stream=stream)))


def call(operation: str, service: str = "dynamodb", function: str = "Writer", **params: Any) -> Call:
    return Call(function, service, operation, params)


def receive_stock(table: str = "Store") -> Call:
    """What receiving stock sends: the stock commit, and a check that the product did not move."""
    return call(
        "TransactWriteItems",
        TransactItems=[{"Put": {"TableName": table}}, {"ConditionCheck": {"TableName": table}}],
    )


def test_an_allowed_call_passes_and_any_other_is_named() -> None:
    checked = policies(allow("dynamodb:PutItem", "dynamodb:Query"))

    assert check([call("PutItem", TableName="Store"), call("Query", TableName="Store")], checked) == []
    assert check([call("GetItem", TableName="Store")], checked) == [
        f"Writer is not allowed dynamodb:GetItem on {TABLE}/Store (its dynamodb GetItem call)"
    ]
    assert check([call("PutItem", TableName="View")], checked) == [
        f"Writer is not allowed dynamodb:PutItem on {TABLE}/View (its dynamodb PutItem call)"
    ]


def test_a_condition_check_in_a_transaction_needs_condition_check_item() -> None:
    without = policies(allow("dynamodb:PutItem", "dynamodb:Query"))
    with_it = policies(allow("dynamodb:PutItem", "dynamodb:ConditionCheckItem"))

    [violation] = without.violations([receive_stock()])

    assert (violation.permission.action, violation.permission.resource) == (
        "dynamodb:ConditionCheckItem",
        f"{TABLE}/Store",
    )
    assert with_it.violations([receive_stock()]) == []


def test_each_transaction_entry_needs_its_own_action_and_there_is_no_transaction_action() -> None:
    only_the_transaction = policies(allow("dynamodb:TransactWriteItems"))
    entries = call(
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "Store"}},
            {"Update": {"TableName": "Store"}},
            {"Delete": {"TableName": "View"}},
        ],
    )

    denied = {
        (v.permission.action, v.permission.resource) for v in only_the_transaction.violations([entries])
    }

    assert denied == {
        ("dynamodb:PutItem", f"{TABLE}/Store"),
        ("dynamodb:UpdateItem", f"{TABLE}/Store"),
        ("dynamodb:DeleteItem", f"{TABLE}/View"),
    }


def test_an_index_query_needs_the_index_resource() -> None:
    table_only = policies(allow("dynamodb:Query"))
    indexes = policies(
        allow("dynamodb:Query", resource={"Fn::Sub": "${Store.Arn}/index/*"}),
    )
    query = call("Query", TableName="Store", IndexName="ByName")

    assert [str(v) for v in table_only.violations([query])] == [
        f"Writer is not allowed dynamodb:Query on {TABLE}/Store/index/ByName (its dynamodb Query call)"
    ]
    assert indexes.violations([query]) == []


def test_wildcards_allow_and_an_explicit_deny_wins() -> None:
    everything = policies(allow("dynamodb:*"))
    reads = policies(allow("dynamodb:Get*", resource=f"{TABLE}/*"))
    denied = policies(
        allow("dynamodb:*"),
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    )

    assert everything.violations([call("DeleteItem", TableName="Store")]) == []
    assert reads.violations([call("GetItem", TableName="View")]) == []
    assert len(reads.violations([call("PutItem", TableName="View")])) == 1
    assert len(denied.violations([call("DeleteItem", TableName="Store")])) == 1


def test_stream_reads_come_from_the_policy_sam_attaches_for_a_stream_event() -> None:
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/Store/stream/2026-01-01T00:00:00.000"
    reads = [
        call(operation, service="dynamodbstreams", StreamArn=stream)
        for operation in ("DescribeStream", "GetShardIterator", "GetRecords")
    ]

    assert policies(allow("dynamodb:Query"), stream=True).violations(reads) == []
    denied = policies(allow("dynamodb:Query")).violations(reads)
    assert {v.permission.action for v in denied} == {
        "dynamodb:DescribeStream",
        "dynamodb:GetShardIterator",
        "dynamodb:GetRecords",
    }


def test_the_on_failure_record_may_go_to_the_function_s_own_queue_only() -> None:
    checked = policies(allow("dynamodb:Query"), stream=True)
    own = call("SendMessage", service="sqs", QueueUrl="http://127.0.0.1:4566/123456789012/WriterDLQ")
    other = call("SendMessage", service="sqs", QueueUrl="http://127.0.0.1:4566/123456789012/OtherQueue")

    assert checked.violations([own]) == []
    queue = "arn:aws:sqs:us-east-1:123456789012:OtherQueue"
    assert [str(v) for v in checked.violations([other])] == [
        f"Writer is not allowed sqs:SendMessage on {queue} (its sqs SendMessage call)"
    ]


def test_prefixed_test_stack_names_map_to_logical_ids() -> None:
    checked = policies(allow("dynamodb:PutItem"))

    assert checked.violations([call("PutItem", TableName="t1a2b3c4d-Store")]) == []
    assert len(checked.violations([call("PutItem", TableName="t1a2b3c4d-View")])) == 1


@pytest.mark.parametrize(
    ("unknown", "why"),
    [
        (call("ExecuteStatement"), "no IAM mapping"),
        (call("PutItem", TableName="NotInTheTemplate"), "not the name of an AWS::DynamoDB::Table"),
        (call("Publish", service="sns", TopicArn="arn:aws:sns:us-east-1:123456789012:t"), "no IAM mapping"),
        (call("PutItem", function="Nobody", TableName="Store"), "not a function of the template"),
    ],
)
def test_what_the_checker_cannot_decide_fails_loudly(unknown: Call, why: str) -> None:
    with pytest.raises(Unsupported, match=why):
        policies(allow("dynamodb:*")).violations([unknown])


def test_policy_elements_it_does_not_evaluate_fail_loudly() -> None:
    conditional = {**allow("dynamodb:PutItem"), "Condition": {"Bool": {"aws:SecureTransport": "true"}}}

    with pytest.raises(Unsupported, match="Condition"):
        policies(conditional).violations([call("PutItem", TableName="Store")])


def test_the_template_before_the_fix_denies_receiving_stock() -> None:
    """Issue 7: CatalogCommands was granted only PutItem and Query on its event store."""
    document = yaml_parse(TEMPLATE.read_text())
    role = document["Resources"]["CatalogCommandsRole"]["Properties"]
    [statement] = [
        s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "dynamodb:Query" in s["Action"]
    ]
    statement["Action"] = [a for a in statement["Action"] if a != "dynamodb:ConditionCheckItem"]
    before = Policies(translate(document))
    stock = receive_stock("CatalogEventStore")
    stock = Call("CatalogCommands", stock.service, stock.operation, stock.params)

    denied = "CatalogCommands is not allowed dynamodb:ConditionCheckItem on"
    assert [str(v) for v in before.violations([stock])] == [
        f"{denied} {TABLE}/CatalogEventStore (its dynamodb TransactWriteItems call)"
    ]
    assert template_policies().violations([stock]) == []


def test_every_function_of_the_template_has_a_policy_the_checker_can_read() -> None:
    checked = template_policies()

    assert checked.functions
    for function in checked.functions:
        assert checked.statements(function), function


def test_the_fixtures_fail_the_test_that_made_a_denied_call() -> None:
    denied = Call("CatalogQueries", "dynamodb", "PutItem", {"TableName": "t0-ProductsView"})
    allowed = Call("CatalogQueries", "dynamodb", "GetItem", {"TableName": "t0-ProductsView"})

    assert_allowed([allowed])
    with pytest.raises(pytest.fail.Exception, match="CatalogQueries is not allowed dynamodb:PutItem"):
        assert_allowed([allowed, denied])


# ---------------------------------------------------------------------- roles of the template's own
def own_role_template(*statements: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``sam_template`` with ``Writer`` on a role of the template (``WriterRole``), a conditional key,
    a secret, and a parameter ``Key`` that decides the condition ``WithKey``."""
    document = sam_template()
    writer = document["Resources"]["Writer"]["Properties"]
    del writer["Policies"]
    writer["Role"] = {"Fn::GetAtt": ["WriterRole", "Arn"]}
    document["Parameters"] = {"Key": {"Type": "String", "Default": "off"}}
    document["Conditions"] = {"WithKey": {"Fn::Equals": [{"Ref": "Key"}, "on"]}}
    document["Resources"].update(
        {
            "WriterRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Statement": []},
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}],
                },
            },
            "Key": {"Type": "AWS::KMS::Key", "Condition": "WithKey", "Properties": {"KeyPolicy": {}}},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
            **(extra or {}),
        }
    )
    return document


KEY = "arn:aws:kms:us-east-1:123456789012:key/Key"


def test_a_statement_chosen_by_a_condition_counts_only_when_the_condition_holds() -> None:
    use_key = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}
    document = own_role_template(
        allow("dynamodb:PutItem"), {"Fn::If": ["WithKey", use_key, {"Ref": "AWS::NoValue"}]}
    )
    translated = translate(document)

    without, with_key = Policies(translated), Policies(translated, {"Key": "on"})

    assert ("kms:Decrypt", KEY) not in {(g.action, g.resource) for g in without.grants("Writer")}
    assert ("kms:Decrypt", KEY) in {(g.action, g.resource) for g in with_key.grants("Writer")}
    assert with_key.violations([call("PutItem", TableName="Store")]) == []


def test_a_conditional_policy_resource_and_a_managed_policy_of_the_template_are_read() -> None:
    decrypt = {
        "Type": "AWS::IAM::Policy",
        "Condition": "WithKey",
        "Properties": {
            "PolicyName": "decrypt",
            "Roles": [{"Ref": "WriterRole"}],
            "PolicyDocument": {"Statement": [allow("kms:Decrypt", resource={"Fn::GetAtt": ["Key", "Arn"]})]},
        },
    }
    tracing = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": {"Statement": [allow("xray:PutTraceSegments", resource="*")]}},
    }
    document = own_role_template(allow("dynamodb:Query"), extra={"Decrypt": decrypt, "Tracing": tracing})
    document["Resources"]["WriterRole"]["Properties"]["ManagedPolicyArns"] = [{"Ref": "Tracing"}]
    translated = translate(document)

    def pairs(policies: Policies) -> set[tuple[str, str]]:
        return {(g.action, g.resource) for g in policies.grants("Writer")}

    assert pairs(Policies(translated)) == {
        ("dynamodb:Query", f"{TABLE}/Store"),
        ("xray:PutTraceSegments", "*"),
    }
    assert ("kms:Decrypt", KEY) in pairs(Policies(translated, {"Key": "on"}))


@pytest.mark.parametrize(
    "secret_id",
    [
        "Secret",
        "t1a2b3c4d-Secret",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:Secret-AbC123",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:t1a2b3c4d-Secret-x9Y8z7",
    ],
)
def test_reading_a_secret_needs_get_secret_value_on_that_secret(secret_id: str) -> None:
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "Secret"}}
    granted = Policies(translate(own_role_template(read)))
    denied = Policies(translate(own_role_template(allow("dynamodb:Query"))))
    fetch = call("GetSecretValue", service="secretsmanager", SecretId=secret_id)

    assert granted.violations([fetch]) == []
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:Secret"
    [violation] = denied.violations([fetch])
    assert str(violation) == (
        f"Writer is not allowed secretsmanager:GetSecretValue on {secret}"
        " (its secretsmanager GetSecretValue call)"
    )


def test_unknown_parameters_and_conditional_roles_fail_loudly() -> None:
    translated = translate(own_role_template(allow("dynamodb:Query")))
    with pytest.raises(Unsupported, match="not the template's"):
        Policies(translated, {"Nope": "1"})

    translated["Resources"]["WriterRole"]["Condition"] = "WithKey"
    with pytest.raises(Unsupported, match="conditional role"):
        Policies(translated).violations([call("Query", TableName="Store")])

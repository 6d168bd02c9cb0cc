"""Least privilege, proven on the template as it deploys: every function's exact grants.

``template.yaml`` is transformed with the SAM translator (``tests/support/iam.py``, what ``sam
deploy`` runs) and each function's role is expanded into (action, resource) pairs. ``EXPECTED`` is
the whole answer, one entry per function (docs/security.md prints the same table); the rules
after it state why, and hold for any function added later, derived from what the template says a
function works with (its environment's tables, its stream subscription, its on-failure queue).

Resources are in the checker's canonical shape (logical ids, us-east-1, account 123456789012);
``Fn::GetAtt T.StreamArn`` is ``table/T/stream/*``: the table's one current stream.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.aws.template import Template
from tests.support.iam import (
    Policies,
    key_arn,
    log_group_arn,
    queue_arn,
    secret_arn,
    table_arn,
    template_policies,
)

Grants = set[tuple[str, str]]

#: AWS offers no resource-level permission for these (Service Authorization Reference, AWS X-Ray:
#: no resource types for PutTraceSegments or PutTelemetryRecords), so they are granted on "*".
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STREAM_READS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetShardIterator",
    "dynamodb:GetRecords",
    "dynamodb:ListStreams",
)
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}


def on(resource: str, *actions: str) -> Grants:
    return {(action, resource) for action in actions}


def basics(function: str) -> Grants:
    """What every function gets: its own log group (streams and events), and traces."""
    return on(log_group_arn(f"{function}Logs"), "logs:CreateLogStream", "logs:PutLogEvents") | on(
        "*", *sorted(TRACING)
    )


def table(name: str, *actions: str) -> Grants:
    return on(table_arn(name), *(f"dynamodb:{a}" for a in actions))


def indexes(name: str, *actions: str) -> Grants:
    return on(f"{table_arn(name)}/index/*", *(f"dynamodb:{a}" for a in actions))


def stream(name: str) -> Grants:
    return on(f"{table_arn(name)}/stream/*", *STREAM_READS)


def parks_in(queue: str) -> Grants:
    return on(queue_arn(queue), "sqs:SendMessage")


#: What a stream consumer does with what Lambda gave up on (docs/parking.md): its own on-failure
#: queue is also its SQS event source (Lambda's poller receives and deletes with the function's
#: role, and reads the queue's attributes when the mapping is made); its parked-records table is
#: read once per batch (GetItem) and written by the parker and by parking behind (a transaction of
#: UpdateItem and PutItem). Redrive runs in ``shopctl``, not in the function: no Query, no DeleteItem.
PARKED_ACTIONS = ("GetItem", "PutItem", "UpdateItem")


def parks(consumer: str) -> Grants:
    return (
        parks_in(f"{consumer}DLQ")
        | on(queue_arn(f"{consumer}DLQ"), "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
        | table(f"{consumer}Parked", *PARKED_ACTIONS)
    )


SIGNING_SECRET = on(secret_arn("SigningSecret"), "secretsmanager:GetSecretValue")
#: What Powertools Idempotency does with a command's record (shop/http/idempotency.py): PutItem (in
#: progress, conditional), GetItem (when a failed condition returns no item), UpdateItem (done),
#: DeleteItem (the command was refused, so a retry runs it again).
IDEMPOTENCY_ACTIONS = ("PutItem", "GetItem", "UpdateItem", "DeleteItem")
IDEMPOTENCY_RECORDS = table("IdempotencyTable", *IDEMPOTENCY_ACTIONS)
#: What a repository does with snapshots (shop/application/repository.py): GetItem (loading a cart
#: or a product), PutItem (conditional, every SNAPSHOT_EVERY events). Never a Query, never a delete.
SNAPSHOT_ACTIONS = ("GetItem", "PutItem")

#: Every function's grants with the default parameters (AWS-managed keys).
EXPECTED: dict[str, Grants] = {
    "CommandApiFallback": basics("CommandApiFallback"),
    "QueryApiFallback": basics("QueryApiFallback"),
    # Catalog
    "CatalogCommands": basics("CatalogCommands")
    | SIGNING_SECRET
    | table("CatalogEventStore", "PutItem", "Query", "ConditionCheckItem")
    | table("CatalogSnapshotStore", *SNAPSHOT_ACTIONS)
    | IDEMPOTENCY_RECORDS,
    "CatalogQueries": basics("CatalogQueries")
    | table("ProductsView", "GetItem")
    | indexes("ProductsView", "Query")
    | SIGNING_SECRET,
    "CatalogProjector": basics("CatalogProjector")
    | stream("CatalogEventStore")
    | table("CatalogEventStore", "Query")
    | table("ProductsView", "GetItem", "UpdateItem")
    | parks("CatalogProjector"),
    "StockReservationPolicy": basics("StockReservationPolicy")
    | stream("OrderEventStore")
    | table("CatalogEventStore", "PutItem", "Query")
    | parks("StockReservationPolicy"),
    # Cart
    "CartCommands": basics("CartCommands")
    | SIGNING_SECRET
    | table("CartEventStore", "PutItem", "Query")
    | table("CartSnapshotStore", *SNAPSHOT_ACTIONS)
    | table("ProductsView", "GetItem")
    | IDEMPOTENCY_RECORDS,
    "CartQueries": basics("CartQueries") | table("CartsView", "GetItem") | SIGNING_SECRET,
    "CartProjector": basics("CartProjector")
    | stream("CartEventStore")
    | table("CartEventStore", "Query")
    | table("CartsView", "GetItem", "UpdateItem")
    | parks("CartProjector"),
    # Orders
    "OrderCommands": basics("OrderCommands")
    | SIGNING_SECRET
    | table("OrderEventStore", "PutItem", "Query")
    | IDEMPOTENCY_RECORDS,
    "OrderQueries": basics("OrderQueries")
    | table("OrdersView", "GetItem")
    | indexes("OrdersView", "Query")
    | SIGNING_SECRET,
    "OrderProjector": basics("OrderProjector")
    | stream("OrderEventStore")
    | table("OrderEventStore", "Query")
    | table("OrdersView", "GetItem", "UpdateItem")
    | parks("OrderProjector"),
    "OrderIntakePolicy": basics("OrderIntakePolicy")
    | stream("CartEventStore")
    | table("OrderEventStore", "PutItem")
    | parks("OrderIntakePolicy"),
    "OrderFulfilmentPolicy": basics("OrderFulfilmentPolicy")
    | stream("CatalogEventStore")
    | table("OrderEventStore", "PutItem", "Query")
    | parks("OrderFulfilmentPolicy"),
}

#: With CustomerManagedKey=true: reading anything encrypted needs Decrypt (and DescribeKey), writing
#: a table or sending to a queue also Encrypt and GenerateDataKey, all on the one key.
DECRYPT = on(key_arn("DataKey"), "kms:Decrypt", "kms:DescribeKey")
ENCRYPT = DECRYPT | on(key_arn("DataKey"), "kms:Encrypt", "kms:GenerateDataKey")
WITH_CUSTOMER_MANAGED_KEY: dict[str, Grants] = {
    "CommandApiFallback": set(),
    "QueryApiFallback": set(),
    **dict.fromkeys(["CatalogQueries", "CartQueries", "OrderQueries"], DECRYPT),
    **dict.fromkeys(
        [
            *("CatalogCommands", "CartCommands", "OrderCommands"),
            *("CatalogProjector", "CartProjector", "OrderProjector"),
            *("StockReservationPolicy", "OrderIntakePolicy", "OrderFulfilmentPolicy"),
        ],
        ENCRYPT,
    ),
}


def grants(policies: Policies, function: str) -> Grants:
    return {(g.action, g.resource) for g in policies.grants(function)}


@pytest.fixture(scope="module")
def policies() -> Policies:
    return template_policies()


def test_every_function_is_listed(policies: Policies) -> None:
    assert set(policies.functions) == set(EXPECTED)


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_each_function_gets_exactly_its_grants(policies: Policies, function: str) -> None:
    assert grants(policies, function) == EXPECTED[function]


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_a_customer_managed_key_adds_only_its_use_on_that_key(function: str) -> None:
    with_key = template_policies(parameters=(("CustomerManagedKey", "true"),))

    assert grants(with_key, function) == EXPECTED[function] | WITH_CUSTOMER_MANAGED_KEY[function]


# ---------------------------------------------------------------------- the rules behind the table
def tables_in_environment(template: Template, function: str, suffix: str) -> set[str]:
    """Tables the function is told about in variables ending ``suffix`` (``_VIEW_TABLE``)."""
    return {
        value["Ref"]
        for name, value in template.functions[function].environment.items()
        if name.endswith(suffix) and isinstance(value, dict)
    }


def event_stores(template: Template) -> set[str]:
    return {name for name, props in template.tables.items() if "StreamSpecification" in props}


def on_tables(found: Grants) -> dict[str, set[str]]:
    """Table (or index, or stream) logical id -> actions, for the DynamoDB grants."""
    by_table: dict[str, set[str]] = {}
    for action, resource in found:
        if action.startswith("dynamodb:"):
            name = resource.removeprefix(table_arn("")).split("/")[0]
            by_table.setdefault(name, set()).add(action)
    return by_table


def stream_tables(found: Grants) -> set[str]:
    return {
        resource.removeprefix(table_arn("")).split("/")[0]
        for action, resource in found
        if action in STREAM_READS
    }


def written(found: Grants) -> set[str]:
    return {table for table, actions in on_tables(found).items() if actions & DYNAMODB_WRITES}


def query_functions(template: Template) -> set[str]:
    return {r.function for r in template.routes_of("QueryApi") if r.path != "$default"}


def command_functions(template: Template) -> set[str]:
    return {r.function for r in template.routes_of("CommandApi") if r.path != "$default"}


def subscription_of(template: Template, function: str) -> Any:
    [subscription] = [s for s in template.subscriptions if s.function == function]
    return subscription


def test_query_functions_read_only_their_read_table_and_no_stream(
    policies: Policies, template: Template
) -> None:
    assert query_functions(template)
    for function in query_functions(template):
        found = grants(policies, function)
        views = tables_in_environment(template, function, "_VIEW_TABLE")
        assert views, function
        assert set(on_tables(found)) == views, function
        assert all(a <= {"dynamodb:GetItem", "dynamodb:Query"} for a in on_tables(found).values()), function
        assert not stream_tables(found), function
        assert not {a for a, _ in found if a.startswith("sqs:")}, function


def test_query_functions_query_only_indexes_and_get_items_only_from_tables(
    policies: Policies, template: Template
) -> None:
    """Every listing the Query API serves is an index ``Query`` (``ByName``, ``ByCategory``,
    ``ByCustomer``: ``shop.views`` ``page(index=...)`` is never called without one) and every single
    resource a ``GetItem`` on the table. CatalogQueries and OrderQueries were also granted ``Query``
    on the base table (read every row of ProductsView / OrdersView, every customer's orders,
    in key order) and ``GetItem`` on ``index/*``, which no call uses: the ``make run`` call log
    (LOCAL_CALL_LOG, 28 000 calls over a hostile session) holds only index ``Query``s and table
    ``GetItem``s for both."""
    for function in query_functions(template):
        for action, resource in grants(policies, function):
            if action == "dynamodb:Query":
                assert "/index/" in resource, (function, action, resource)
            if action == "dynamodb:GetItem":
                assert "/index/" not in resource, (function, action, resource)


def test_the_order_intake_policy_only_appends_new_orders(policies: Policies) -> None:
    """OrderIntakePolicy places an order with one conditional ``PutItem`` on a new stream and treats
    the condition failing as "already placed" (``shop.orders.policies``): it never loads an order.
    Its role was also granted ``dynamodb:Query`` on OrderEventStore (read every order's history);
    the ``make run`` call log (LOCAL_CALL_LOG) shows only its ``PutItem``s on that table."""
    assert on_tables(grants(policies, "OrderIntakePolicy"))["OrderEventStore"] == {"dynamodb:PutItem"}


def parked_table(template: Template, function: str) -> str:
    """The consumer's own parked-records table (``<CONSUMER>_PARKED_TABLE``), named after it."""
    [parked] = tables_in_environment(template, function, "_PARKED_TABLE")
    assert parked == f"{function}Parked", function
    return str(parked)


def test_projectors_read_their_source_stream_fill_gaps_and_write_only_their_read_table(
    policies: Policies, template: Template
) -> None:
    projectors = [s.function for s in template.subscriptions if s.function.endswith("Projector")]
    assert projectors
    for function in projectors:
        found = grants(policies, function)
        source = subscription_of(template, function).table
        views = tables_in_environment(template, function, "_VIEW_TABLE")
        assert stream_tables(found) == {source}, function
        assert on_tables(found)[source] - set(STREAM_READS) == {"dynamodb:Query"}, function
        assert written(found) == views | {parked_table(template, function)}, function
        assert all(on_tables(found)[v] == {"dynamodb:GetItem", "dynamodb:UpdateItem"} for v in views)


def test_command_functions_write_only_their_own_event_store_and_the_idempotency_records(
    policies: Policies, template: Template
) -> None:
    stores = event_stores(template)
    for function in command_functions(template):
        found = grants(policies, function)
        own = tables_in_environment(template, function, "_EVENTS_TABLE")
        records = tables_in_environment(template, function, "IDEMPOTENCY_TABLE")
        snapshots = tables_in_environment(template, function, "_SNAPSHOTS_TABLE")
        assert len(own) == 1, function
        assert records == {"IdempotencyTable"}, function
        assert written(found) == own | records | snapshots, function  # never a read table
        assert on_tables(found)["IdempotencyTable"] == {f"dynamodb:{a}" for a in IDEMPOTENCY_ACTIONS}
        assert on_tables(found)[own.pop()] <= {
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:ConditionCheckItem",
        }, function
        assert not stream_tables(found), function
        # CartCommands reads prices
        assert set(on_tables(found)) - stores - snapshots <= {"ProductsView", "IdempotencyTable"}, function


def test_snapshots_are_kept_only_by_the_commands_that_load_carts_and_products_in_their_own_service(
    policies: Policies, template: Template
) -> None:
    """A service's snapshots are its command function's cache of its own streams: get and put, by
    that function only, in a table of its own service that nothing streams from (so no consumer can
    ever take a snapshot for a commit)."""
    users = {f: tables_in_environment(template, f, "_SNAPSHOTS_TABLE") for f in template.functions}
    snapshot_tables = set().union(*users.values())
    assert {f for f, tables in users.items() if tables} == {"CartCommands", "CatalogCommands"}
    assert snapshot_tables == {"CartSnapshotStore", "CatalogSnapshotStore"}
    for function in policies.functions:
        kept = {t: a for t, a in on_tables(grants(policies, function)).items() if t in snapshot_tables}
        assert kept == {t: {f"dynamodb:{a}" for a in SNAPSHOT_ACTIONS} for t in users[function]}, function
        for snapshots in users[function]:
            [own] = tables_in_environment(template, function, "_EVENTS_TABLE")
            assert snapshots.removesuffix("SnapshotStore") == own.removesuffix("EventStore"), function
    for name in snapshot_tables:
        assert "StreamSpecification" not in template.tables[name], name
        assert name not in {s.table for s in template.subscriptions}, name


def test_only_command_functions_may_touch_the_idempotency_records(
    policies: Policies, template: Template
) -> None:
    for function in set(policies.functions) - command_functions(template):
        assert "IdempotencyTable" not in on_tables(grants(policies, function)), function
        assert "IDEMPOTENCY_TABLE" not in template.functions[function].environment, function


def test_policies_write_only_the_store_they_command_and_read_only_their_source_stream(
    policies: Policies, template: Template
) -> None:
    acting = [s.function for s in template.subscriptions if s.function.endswith("Policy")]
    assert acting
    for function in acting:
        found = grants(policies, function)
        commanded = tables_in_environment(template, function, "_EVENTS_TABLE")
        source = subscription_of(template, function).table
        parked = parked_table(template, function)
        assert written(found) == commanded | {parked}, function
        assert commanded != {source}, function
        assert stream_tables(found) == {source}, function
        assert set(on_tables(found)) == commanded | {source, parked}, function


def test_each_stream_consumer_may_use_only_its_own_on_failure_queue(
    policies: Policies, template: Template
) -> None:
    """Send to it (Lambda's on-failure record) and read it back (its ParkFailures event), nothing else."""
    consumers = {s.function: s for s in template.subscriptions}
    reads = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    for function in policies.functions:
        sends = {(a, r) for a, r in grants(policies, function) if a.startswith("sqs:")}
        if function in consumers:
            queue = consumers[function].setting("DestinationConfig")["OnFailure"]["Destination"]
            arn = queue_arn(queue["Fn::GetAtt"][0])
            assert sends == {(a, arn) for a in {"sqs:SendMessage", *reads}}, function
        else:
            assert sends == set(), function


def test_each_stream_consumer_reads_back_its_own_on_failure_queue_and_keeps_its_own_parked_records(
    template: Template,
) -> None:
    for subscription in template.subscriptions:
        function = template.functions[subscription.function]
        queue = subscription.setting("DestinationConfig")["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        sqs = [e["Properties"] for e in function.properties["Events"].values() if e["Type"] == "SQS"]
        assert sqs == [
            {
                "Queue": {"Fn::GetAtt": [queue, "Arn"]},
                "BatchSize": 1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": 2},
            }
        ], subscription.function
        timeout = function.properties.get("Timeout", template.globals.get("Timeout"))
        assert template.resources[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout, queue
        parked = template.resources[parked_table(template, subscription.function)]["Properties"]
        assert parked["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert [k["AttributeName"] for k in parked["KeySchema"]] == ["streamId", "version"]


def test_nothing_is_granted_on_every_resource_but_traces_and_no_action_is_a_wildcard(
    policies: Policies,
) -> None:
    for function in policies.functions:
        for action, resource in grants(policies, function):
            assert "*" not in action, (function, action)
            if "*" in resource:
                assert resource.endswith(("/index/*", "/stream/*", ":*")) or action in TRACING, (
                    function,
                    action,
                    resource,
                )
                if resource == "*":
                    assert action in TRACING, (function, action)


def test_every_function_logs_only_to_its_own_group(policies: Policies, template: Template) -> None:
    for name, function in template.functions.items():
        group = function.properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert template.resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert template.resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        logs = {(a, r) for a, r in grants(policies, name) if a.startswith("logs:")}
        assert logs == on(log_group_arn(group), "logs:CreateLogStream", "logs:PutLogEvents"), name


def test_every_function_has_its_own_role_with_no_aws_managed_policy(template: Template) -> None:
    """SAM's generated roles would carry AWSLambdaBasicExecutionRole (logs on "*") and, for a stream
    event, AWSLambdaDynamoDBExecutionRole (every stream in the account)."""
    roles = [function.properties["Role"]["Fn::GetAtt"][0] for function in template.functions.values()]
    assert len(set(roles)) == len(roles)
    for role in roles:
        resource = template.resources[role]
        assert resource["Type"] == "AWS::IAM::Role", role
        for managed in resource["Properties"].get("ManagedPolicyArns", []):
            assert template.resources[managed["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy", role
        [trust] = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}, role
        assert (trust["Effect"], trust["Action"]) == ("Allow", "sts:AssumeRole"), role


def test_stream_grants_name_the_one_stream_of_the_table(template: Template) -> None:
    """``Fn::GetAtt T.StreamArn`` is the table's current stream, not a pattern of every stream."""
    for name, role in template.of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                if set(actions) & set(STREAM_READS):
                    assert set(actions) == set(STREAM_READS), name
                    assert list(statement["Resource"]) == ["Fn::GetAtt"], name
                    assert statement["Resource"]["Fn::GetAtt"][1] == "StreamArn", name

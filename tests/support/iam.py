"""IAM call coverage: is every AWS call a function made allowed by its role in the deployed template?

moto does not enforce IAM. ``local.aws.calls`` records each call with the function it was made for;
this module turns each call into the IAM actions and resources AWS would authorise it against, and
evaluates them against the function's role as ``sam deploy`` creates it: the template transformed
by ``samtranslator`` (the SAM CLI's own translator). A role is either the template's own
(``Role: !GetAtt XRole.Arn``: its inline policies, the managed policies of the template it
references, and ``AWS::IAM::Policy`` resources naming it) or one SAM generates (inline policies,
the policies SAM generates for on-failure destinations, and the AWS managed policies SAM attaches,
whose documents are embedded below). Every resource is named by its logical id, in us-east-1,
account 123456789012. Parameters take their defaults unless given; conditions (``Fn::If`` in a
statement list, a policy resource's ``Condition``) are evaluated with them.

The evaluation is deliberately small and strict: ``Allow`` and ``Deny`` statements with ``Action``
and ``Resource`` (wildcards ``*`` and ``?``). A construct it does not model (``NotAction``, a
statement's ``Condition``, a permissions boundary, an unknown managed policy, an operation without
a mapping) raises ``Unsupported`` rather than guessing, so the check never passes by not understanding.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.aws.calls import Call
from local.aws.template import TEMPLATE

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"

#: AWS managed policies SAM attaches to function roles, as documented in the AWS Managed Policy
#: Reference (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<Name>.html):
#: AWSLambdaBasicExecutionRole (v1), AWSLambdaDynamoDBExecutionRole (v1), AWSXrayWriteOnlyAccess (v2).
MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": ["*"],
            }
        ],
    },
}

#: A transaction has no IAM action of its own: each entry is authorised as the single-item
#: operation it performs, and a ``ConditionCheck`` needs ``dynamodb:ConditionCheckItem``
#: ("Using IAM with DynamoDB transactions",
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
TRANSACTION_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}

#: Operations whose resource is the table (and, for reads that take ``IndexName``, the index).
TABLE_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "DescribeTable",
    "ConditionCheckItem",
}
STREAM_OPERATIONS = {"DescribeStream", "GetShardIterator", "GetRecords"}
#: SQS batch operations are authorised by the single-message action.
SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
SECRET_OPERATIONS = {"GetSecretValue", "DescribeSecret"}
QUEUE_OPERATIONS = {
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
}


class Unsupported(Exception):
    """The checker cannot decide this call or policy; extend it rather than let it pass."""


@dataclass(frozen=True)
class Permission:
    action: str
    resource: str


@dataclass(frozen=True)
class Violation:
    function: str
    permission: Permission
    call: Call

    def __str__(self) -> str:
        return (
            f"{self.function} is not allowed {self.permission.action} on {self.permission.resource}"
            f" (its {self.call.service} {self.call.operation} call)"
        )


# ---------------------------------------------------------------------- names and ARNs
def table_arn(table: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def queue_arn(queue: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{queue}"


def queue_url(queue: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}"


def secret_arn(secret: str) -> str:
    """A secret's ARN without the random suffix AWS appends (``-AbCdEf``): the policy names the
    secret by ``Ref`` (its full ARN), calls name it by ARN or by name; both map to this."""
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"


def log_group_arn(log_group: str) -> str:
    """What ``Fn::GetAtt LogGroup.Arn`` returns: the group's ARN with ``:*`` (its log streams)."""
    return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:*"


def key_arn(key: str) -> str:
    return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{key}"


class Names:
    """Maps the physical names seen locally to logical ids: the local stack names resources by
    their logical id; test stacks put a prefix ending in ``-`` before it (logical ids have none)."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]]) -> None:
        self._types = {logical: resource["Type"] for logical, resource in resources.items()}

    def logical(self, name: str, resource_type: str) -> str:
        candidate = name.rsplit("-", 1)[-1]
        if self._types.get(candidate) != resource_type:
            raise Unsupported(f"{name!r} is not the name of an {resource_type} in the template")
        return candidate

    def table(self, name: str) -> str:
        return table_arn(self.logical(name, "AWS::DynamoDB::Table"))

    def stream(self, arn: str) -> str:
        found = re.fullmatch(r"arn:[\w-]+:dynamodb:[\w-]+:\d+:table/([\w.-]+)/stream/(.+)", arn)
        if found is None:
            raise Unsupported(f"{arn!r} is not a DynamoDB stream ARN")
        return f"{self.table(found.group(1))}/stream/{found.group(2)}"

    def queue(self, url_or_name: str) -> str:
        return queue_arn(self.logical(url_or_name.rstrip("/").rsplit("/", 1)[-1], "AWS::SQS::Queue"))

    def secret(self, arn_or_name: str) -> str:
        found = re.fullmatch(r"arn:[\w-]+:secretsmanager:[\w-]+:\d+:secret:(.+)-[A-Za-z0-9]{6}", arn_or_name)
        name = found.group(1) if found else arn_or_name
        return secret_arn(self.logical(name, "AWS::SecretsManager::Secret"))


# ---------------------------------------------------------------------- calls -> permissions
def permissions(call: Call, names: Names) -> list[Permission]:
    """The IAM actions and resources AWS authorises ``call`` against."""
    params = call.params
    if call.service == "dynamodb":
        return _dynamodb(call.operation, params, names)
    if call.service == "dynamodbstreams":
        if call.operation in STREAM_OPERATIONS:
            return [Permission(f"dynamodb:{call.operation}", names.stream(params["StreamArn"]))]
        if call.operation == "ListStreams":
            return [Permission("dynamodb:ListStreams", "*")]  # strictest reading: every stream
    if call.service == "secretsmanager" and call.operation in SECRET_OPERATIONS:
        return [Permission(f"secretsmanager:{call.operation}", names.secret(params["SecretId"]))]
    if call.service == "sqs" and call.operation in QUEUE_OPERATIONS | set(SQS_ACTIONS):
        queue = params.get("QueueUrl") or params.get("QueueName")
        if queue is None:
            raise Unsupported(f"sqs {call.operation} without a queue")
        action = SQS_ACTIONS.get(call.operation, call.operation)
        return [Permission(f"sqs:{action}", names.queue(queue))]
    raise Unsupported(f"no IAM mapping for {call.service} {call.operation}: add one to {__name__}")


def _dynamodb(operation: str, params: Mapping[str, Any], names: Names) -> list[Permission]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, action in item.items():
                if kind not in TRANSACTION_ACTIONS:
                    raise Unsupported(f"transaction entry {kind}")
                found.append(Permission(TRANSACTION_ACTIONS[kind], names.table(action["TableName"])))
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [Permission(f"dynamodb:{operation}", names.table(t)) for t in params.get("RequestItems", {})]
    if operation in TABLE_OPERATIONS and "TableName" in params:
        resource = names.table(params["TableName"])
        if operation in ("Query", "Scan") and params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return [Permission(f"dynamodb:{operation}", resource)]
    raise Unsupported(f"no IAM mapping for dynamodb {operation}: add one to {__name__}")


# ---------------------------------------------------------------------- the translated template
def translate(document: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudFormation template ``sam deploy`` would create from the SAM ``document``
    (``samtranslator.translator.transform.transform``, with a region that needs no environment)."""
    import boto3  # noqa: PLC0415
    from samtranslator.parser.parser import Parser  # noqa: PLC0415 - slow to import: only when needed
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    fragment = copy.deepcopy(dict(document))
    for resource in fragment.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # sam package uploads these; the policies do not care
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://bucket/{properties[key]}"

    def managed_policy_map() -> dict[str, str]:
        """SAM asks IAM for managed policy ARNs by name (``Policies: [AWSLambdaExecute]``)."""
        return {arn.rsplit("/", 1)[-1]: arn for arn in MANAGED_POLICIES}

    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        fragment,
        parameter_values={"AWS::AccountId": ACCOUNT},
        get_managed_policy_map=managed_policy_map,
    )
    translator.metrics.publish()  # to samtranslator's no-op publisher (it warns otherwise)
    return translated


@functools.cache
def _translated(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415

    return translate(yaml_parse(path.read_text()))


@functools.cache
def template_policies(path: Path = TEMPLATE, parameters: tuple[tuple[str, str], ...] = ()) -> Policies:
    """The policies of ``template.yaml`` (translated once per process), with ``parameters`` set."""
    return Policies(_translated(path), dict(parameters))


class Policies:
    """Every function's effective policy statements in a translated (CloudFormation) template."""

    def __init__(self, translated: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> None:
        self.resources: dict[str, dict[str, Any]] = dict(translated["Resources"])
        self.parameters = {
            name: spec.get("Default") for name, spec in translated.get("Parameters", {}).items()
        }
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise Unsupported(f"parameters {sorted(unknown)} are not the template's")
        self.parameters.update(parameters or {})
        self.conditions: dict[str, Any] = dict(translated.get("Conditions", {}))
        self.names = Names(self.resources)
        self._statements: dict[str, list[Statement]] = {}

    @property
    def functions(self) -> list[str]:
        return [name for name, r in self.resources.items() if r["Type"] == "AWS::Lambda::Function"]

    def statements(self, function: str) -> list[Statement]:
        if function not in self._statements:
            self._statements[function] = [
                Statement.parse(raw, self._resolve)
                for document in self._documents(self._role_of(function))
                for raw in self._chosen(_as_list(document.get("Statement", [])))
            ]
        return self._statements[function]

    def grants(self, function: str) -> set[Permission]:
        """Every (action, resource) pair the function's role allows, as written (wildcards kept).

        Fails on a ``Deny``: what a deny takes away from a wildcard cannot be listed as pairs.
        """
        found = set()
        for statement in self.statements(function):
            if statement.effect != "Allow":
                raise Unsupported(f"{function}: a Deny statement cannot be listed as grants")
            found |= {Permission(a, r) for a in statement.actions for r in statement.resources}
        return found

    def allows(self, function: str, permission: Permission) -> bool:
        statements = self.statements(function)
        if any(s.effect == "Deny" and s.matches(permission) for s in statements):
            return False
        return any(s.effect == "Allow" and s.matches(permission) for s in statements)

    def violations(self, calls: Iterable[Call]) -> list[Violation]:
        """Every permission some call needs that its function's role does not grant (deduplicated)."""
        found: dict[tuple[str, Permission], Violation] = {}
        for call in calls:
            if call.function not in self.resources:
                raise Unsupported(f"{call.function} is not a function of the template")
            for permission in permissions(call, self.names):
                if not self.allows(call.function, permission):
                    found.setdefault((call.function, permission), Violation(call.function, permission, call))
        return list(found.values())

    # ------------------------------------------------------------------ roles and documents
    def _role_of(self, function: str) -> str:
        role = self.resources[function]["Properties"].get("Role")
        if not (
            isinstance(role, Mapping) and list(role) == ["Fn::GetAtt"] and role["Fn::GetAtt"][1] == "Arn"
        ):
            raise Unsupported(f"{function}: only a role of this template (Fn::GetAtt Role.Arn), got {role!r}")
        name: str = role["Fn::GetAtt"][0]
        if "PermissionsBoundary" in self.resources[name].get("Properties", {}):
            raise Unsupported(f"{name}: permissions boundaries are not evaluated")
        if "Condition" in self.resources[name]:
            raise Unsupported(f"{name}: a conditional role is not evaluated")
        return name

    def _documents(self, role: str) -> list[Mapping[str, Any]]:
        properties = self.resources[role].get("Properties", {})
        documents = []
        for policy in properties.get("Policies", []):
            if "PolicyDocument" not in policy:
                raise Unsupported(f"{role}: policy {policy!r} (conditional?) is not evaluated")
            documents.append(policy["PolicyDocument"])
        for reference in properties.get("ManagedPolicyArns", []):
            own = reference.get("Ref") if isinstance(reference, Mapping) else None
            if self.resources.get(own, {}).get("Type") == "AWS::IAM::ManagedPolicy":  # the template's
                if "Condition" in self.resources[own]:
                    raise Unsupported(f"{role}: conditional managed policy {own} is not evaluated")
                documents.append(self.resources[own]["Properties"]["PolicyDocument"])
                continue
            managed = self._resolve(reference)
            if managed not in MANAGED_POLICIES:
                raise Unsupported(f"{role}: managed policy {managed} is not embedded in {__name__}")
            documents.append(MANAGED_POLICIES[managed])
        for resource in self.resources.values():  # policies that name the role themselves
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            props = resource.get("Properties", {})
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and {
                "Ref": role
            } in props.get("Roles", []):
                documents.append(props["PolicyDocument"])
            if resource["Type"] == "AWS::IAM::RolePolicy" and props.get("RoleName") == {"Ref": role}:
                documents.append(props["PolicyDocument"])
        return documents

    # ------------------------------------------------------------------ conditions
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise Unsupported(f"condition {name} is not the template's")
        return self._evaluate(self.conditions[name])

    def _evaluate(self, expression: Any) -> bool:
        if not (isinstance(expression, Mapping) and len(expression) == 1):
            raise Unsupported(f"condition {expression!r}")
        ((key, argument),) = expression.items()
        if key == "Fn::Equals":
            left, right = (self._resolve(a) for a in argument)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._evaluate(argument[0])
        if key == "Fn::And":
            return all(self._evaluate(a) for a in argument)
        if key == "Fn::Or":
            return any(self._evaluate(a) for a in argument)
        if key == "Condition":
            return self.condition(argument)
        raise Unsupported(f"condition function {key}")

    def _chosen(self, items: Sequence[Any]) -> list[Any]:
        """A list's items with ``Fn::If`` decided and ``Ref: AWS::NoValue`` dropped."""
        chosen = []
        for item in items:
            value = item
            while isinstance(value, Mapping) and list(value) == ["Fn::If"]:
                name, when_true, when_false = value["Fn::If"]
                value = when_true if self.condition(name) else when_false
            if value != {"Ref": "AWS::NoValue"}:
                chosen.append(value)
        return chosen

    # ------------------------------------------------------------------ intrinsic functions
    def _resolve(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self._resolve(v, variables) for v in value]
        if isinstance(value, Mapping) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self._attribute(logical, attribute)
            if key == "Fn::Sub":
                text, extra = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(text, {k: self._resolve(v) for k, v in extra.items()})
            if key == "Fn::Join":
                delimiter, parts = argument
                return delimiter.join(_as_list(self._resolve(parts)))
        raise Unsupported(f"cannot resolve {value!r} in a policy")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self._attribute(logical, attribute))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        kind = self.resources.get(name, {}).get("Type")
        if kind in ("AWS::DynamoDB::Table", "AWS::Logs::LogGroup", "AWS::KMS::Key"):
            return name
        if kind == "AWS::SQS::Queue":
            return queue_url(name)
        if kind == "AWS::SecretsManager::Secret":
            return secret_arn(name)
        raise Unsupported(f"Ref {name} in a policy")

    def _attribute(self, logical: str, attribute: str) -> str:
        kind = self.resources.get(logical, {}).get("Type")
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return table_arn(logical)
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return f"{table_arn(logical)}/stream/*"  # the table's stream, whatever its label
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return queue_arn(logical)
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return log_group_arn(logical)
        if kind == "AWS::KMS::Key" and attribute == "Arn":
            return key_arn(logical)
        raise Unsupported(f"Fn::GetAtt {logical}.{attribute} in a policy")


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], resolve: Any) -> Statement:
        unsupported = set(raw) - {"Sid", "Effect", "Action", "Resource"}
        if unsupported:
            raise Unsupported(f"policy statement elements {sorted(unsupported)} are not evaluated: {raw}")
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise Unsupported(f"statement effect {raw.get('Effect')!r}")
        resources = tuple(str(r) for r in _as_list(resolve(raw["Resource"])))
        return cls(raw["Effect"], tuple(_as_list(raw["Action"])), resources)

    def matches(self, permission: Permission) -> bool:
        action = any(_glob(a, permission.action, ignore_case=True) for a in self.actions)
        return action and any(_glob(r, permission.resource) for r in self.resources)


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one (action names are case-insensitive)."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else [value]


def check(calls: Iterable[Call], policies: Policies | None = None) -> list[str]:
    """Human-readable violations of ``calls`` against ``template.yaml`` (empty: all allowed)."""
    return [str(v) for v in (policies or template_policies()).violations(calls)]


def assert_allowed(calls: Sequence[Call]) -> None:
    """Fail the running test if IAM would deny any of ``calls`` (the fixtures' check)."""
    if not calls:
        return
    denied = check(calls)
    if denied:
        pytest.fail("IAM would deny:\n  " + "\n  ".join(denied), pytrace=False)

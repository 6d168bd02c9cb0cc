"""Where a command works: resources by logical id, resolved to physical names.

* ``--stack-name``: a CloudFormation stack in AWS. ``ListStackResources`` maps every logical id of
  the deployed template to its physical id (a table's name, a queue's URL, a function's name).
* ``--endpoint-url``: the local stack (``make run``). It creates the template's resources named by
  their logical ids (``local.stack.stack.Stack``, optional ``--prefix``), so the names come from
  ``template.yaml``; the endpoint is asked once that it answers.

Every command names resources by logical id (``ProductsView``, ``CatalogEventStore``) and asks the
target for the physical one; an id the stack or template does not have is ``UnknownResource``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from shopctl.errors import ShopctlError, UnknownResource, Unreachable

if TYPE_CHECKING:
    import boto3

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
#: SAM's ``AWS::Serverless::Function`` is an ``AWS::Lambda::Function`` once deployed.
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=30)


@dataclass
class Target:
    """The resources of one stack, by logical id, and clients to reach them."""

    description: str
    session: boto3.Session
    endpoint_url: str | None
    #: logical id -> (resource type, physical id)
    resources: Mapping[str, tuple[str, str]]
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=_CONFIG
            )
        return self._clients[service]

    def logical_ids(self, resource_type: str) -> list[str]:
        return sorted(
            logical for logical, (kind, _) in self.resources.items() if _same_type(kind, resource_type)
        )

    def _physical(self, logical: str, resource_type: str, what: str) -> str:
        found = self.resources.get(logical)
        if found is None or not _same_type(found[0], resource_type):
            known = ", ".join(self.logical_ids(resource_type)) or "none"
            raise UnknownResource(f"{self.description} has no {what} {logical!r} (its {what}s: {known})")
        return found[1]

    def table(self, logical: str) -> str:
        """The physical name of the table ``logical``."""
        return self._physical(logical, TABLE, "table")

    def queue_url(self, logical: str) -> str:
        """The URL of the queue ``logical`` (locally asked of the endpoint: ``GetQueueUrl``)."""
        physical = self._physical(logical, QUEUE, "queue")
        if physical.startswith(("http://", "https://")):
            return physical
        return str(self.client("sqs").get_queue_url(QueueName=physical)["QueueUrl"])

    def function(self, logical: str) -> str:
        """The physical name of the function ``logical``."""
        return self._physical(logical, "AWS::Lambda::Function", "function")

    def has(self, logical: str) -> bool:
        return logical in self.resources


def _same_type(kind: str, wanted: str) -> bool:
    if wanted in FUNCTION_TYPES:
        return kind in FUNCTION_TYPES
    return kind == wanted


def _session(region: str | None) -> boto3.Session:
    import boto3  # noqa: PLC0415 - only once a command runs (fast --help)

    return boto3.Session(region_name=region or os.environ.get("AWS_DEFAULT_REGION") or None)


def from_stack(stack_name: str, region: str | None = None) -> Target:
    """The deployed stack ``stack_name``: its resources as CloudFormation lists them."""
    session = _session(region)
    cloudformation = session.client("cloudformation", config=_CONFIG)
    resources: dict[str, tuple[str, str]] = {}
    try:
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for resource in page["StackResourceSummaries"]:
                physical = resource.get("PhysicalResourceId")
                if physical:
                    resources[resource["LogicalResourceId"]] = (resource["ResourceType"], physical)
    except ClientError as error:
        if "does not exist" in str(error):
            raise Unreachable(f"no stack {stack_name!r} in {session.region_name}") from error
        raise ShopctlError(f"CloudFormation: {error}") from error
    except (NoCredentialsError, EndpointConnectionError) as error:
        raise Unreachable(f"cannot reach CloudFormation: {error}") from error
    description = f"stack {stack_name} ({session.region_name})"
    return Target(description, session, None, resources)


def from_endpoint(endpoint_url: str, *, prefix: str = "", template_path: str | None = None) -> Target:
    """The local stack behind ``endpoint_url``: the template's resources, named ``prefix + logical id``."""
    from local.aws.template import TEMPLATE, Template  # noqa: PLC0415 - the repository's reader

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    template = Template(TEMPLATE if template_path is None else _path(template_path))
    session = _session(os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    resources: dict[str, tuple[str, str]] = {}
    for logical, resource in template.resources.items():
        kind = resource["Type"]
        # Functions are named by their logical id alone (the Lambda endpoint, IteratorAge metrics).
        resources[logical] = (kind, logical if kind in FUNCTION_TYPES else f"{prefix}{logical}")
    target = Target(f"the local stack at {endpoint_url}", session, endpoint_url, resources)
    _check_answers(target)
    return target


def _path(text: str) -> Any:
    from pathlib import Path  # noqa: PLC0415

    return Path(text)


def _check_answers(target: Target) -> None:
    """One cheap request, so a stopped ``make run`` is said plainly rather than as a stack trace."""
    client = target.session.client(
        "dynamodb",
        endpoint_url=target.endpoint_url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    try:
        client.list_tables(Limit=1)
    except (EndpointConnectionError, BotoCoreError) as error:
        raise Unreachable(
            f"nothing answers at {target.endpoint_url} (is `make run` running? MOTO_PORT?): {error}"
        ) from error

"""Reading what a request says beyond its body: ids in paths, preconditions, correlation, caller."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shop.application import CommandContext
from shop.errors import NotFound
from shop.http.contract import CORRELATION_ID, ENTITY_TAG, IF_MATCH
from shop.http.idempotency import request_key
from shop.http.identity import caller
from shop.http.problems import HttpProblem

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ETAG_VERSIONS = re.compile(f"^{ENTITY_TAG}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def resource_id(value: str, kind: str) -> str:
    """Ids are UUIDs in their canonical form; anything else names no resource (404)."""
    if not _UUID.match(value):
        raise NotFound(f"{kind} {value[:80]} does not exist.")
    return str(uuid.UUID(value))


def correlation_id(event: APIGatewayProxyEventV2) -> str:
    """The caller's ``X-Correlation-Id`` if it is sane, else the API Gateway request id."""
    given = event.headers.get(CORRELATION_ID.lower(), "")
    if _CORRELATION_ID.match(given):
        return given
    return event.request_context.request_id or str(uuid.uuid4())


def expected_version(event: APIGatewayProxyEventV2, part: int = 0) -> int | None:
    """``If-Match: "<version>"``; ``*`` or no header states no precondition.

    A product's own ETag, ``"<version>.<stockVersion>"``, is accepted too: ``part`` picks the
    version the command is about (0 for the product, 1 for its stock).
    """
    header = event.headers.get(IF_MATCH.lower())
    if header is None or header.strip() == "*":
        return None
    match = _ETAG_VERSIONS.match(header.strip())
    if not match:
        raise HttpProblem(
            HTTPStatus.BAD_REQUEST, 'If-Match must be an entity tag like "3".', code="bad-precondition"
        )
    first, second = match.groups()
    return int(second if part == 1 and second is not None else first)


def command_context(event: APIGatewayProxyEventV2, etag_part: int = 0) -> CommandContext:
    """The verified caller, the correlation, the request id as the cause, ``If-Match``, and the
    request's ``Idempotency-Key`` (scoped to route and caller)."""
    who = caller(event)
    return CommandContext(
        correlation_id=correlation_id(event),
        causation_id=event.request_context.request_id or str(uuid.uuid4()),
        expected_version=expected_version(event, etag_part),
        caller=who,
        request_key=request_key(event, who.sub),
    )

"""Every error answer is an RFC 9457 problem; this module is the one place that decides the status.

Domain and application code raise ``shop.errors`` exceptions; the HTTP edge raises ``HttpProblem``
for purely HTTP matters (size, media type, method). Both become ``application/problem+json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shop.errors import (
    BadRequest,
    ConcurrencyConflict,
    DependencyUnavailable,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolated,
    ShopError,
    UnreadableEvent,
    VersionMismatch,
)
from shop.http.contract import CACHE_CONTROL, PROBLEM_CACHE_CONTROL, RETRY_AFTER

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:shop:problem:"

#: What a 503 for an event this deployment cannot read tells the client to wait: a deployment that
#: is rolling out (or back) takes a while.
UNREADABLE_EVENT_RETRY_AFTER_SECONDS = 30
#: What a 503 for a dependency that did not answer (a table, a secret) tells the client to wait: the
#: SDK already retried within the request; throttling and brief outages pass within seconds.
DEPENDENCY_UNAVAILABLE_RETRY_AFTER_SECONDS = 5
#: The problem type of that 503.
DEPENDENCY_UNAVAILABLE = "dependency-unavailable"

_STATUS_BY_ERROR: dict[type[ShopError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Forbidden: HTTPStatus.FORBIDDEN,
    RuleViolated: HTTPStatus.CONFLICT,
    ConcurrencyConflict: HTTPStatus.CONFLICT,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    BadRequest: HTTPStatus.BAD_REQUEST,
    VersionMismatch: HTTPStatus.PRECONDITION_FAILED,
}


class HttpProblem(Exception):
    """An HTTP-level refusal that has no domain meaning (413, 415, 405 …)."""

    def __init__(
        self,
        status: HTTPStatus,
        detail: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or status.phrase.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.errors = tuple(errors)


def problem_body(
    status: HTTPStatus, detail: str, *, code: str | None = None, errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}" if code else "about:blank",
        "title": status.phrase,
        "status": status.value,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def problem_headers(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of every problem answer: never cached, plus the problem's own."""
    return {CACHE_CONTROL: PROBLEM_CACHE_CONTROL, **(headers or {})}


def problem(
    status: HTTPStatus,
    detail: str,
    *,
    code: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=PROBLEM_JSON,
        body=json.dumps(problem_body(status, detail, code=code, errors=errors)),
        headers=problem_headers(headers),
    )


def from_shop_error(error: ShopError) -> Response[str]:
    status = next(
        (_STATUS_BY_ERROR[cls] for cls in type(error).__mro__ if cls in _STATUS_BY_ERROR),
        HTTPStatus.BAD_REQUEST,
    )
    errors = error.errors if isinstance(error, InvalidInput) else ()
    return problem(status, error.detail, code=error.code, errors=errors)


def from_http_problem(error: HttpProblem) -> Response[str]:
    return problem(error.status, error.detail, code=error.code, errors=error.errors, headers=error.headers)


def from_validation_error(error: RequestValidationError) -> Response[str]:
    """Map Powertools/pydantic request validation to 400 (JSON, query, headers) or 422 (body)."""
    raw: list[dict[str, Any]] = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return problem(HTTPStatus.BAD_REQUEST, "The request body is not valid JSON.", code="malformed-json")
    by_source: dict[str, list[FieldError]] = {}
    for e in raw:
        loc = tuple(e.get("loc", ()))
        source = str(loc[0]) if loc else "body"
        field = ".".join(str(part) for part in loc[1:]) or source
        by_source.setdefault(source, []).append(FieldError(field, _message(e)))
    if "query" in by_source or "header" in by_source:
        errors = by_source.get("query", []) + by_source.get("header", [])
        return problem(
            HTTPStatus.BAD_REQUEST, "Invalid query parameters or headers.", code="bad-request", errors=errors
        )
    body_errors = by_source.get("body", [])
    if any(e.field == "body" and e.message.startswith("Field required") for e in body_errors):
        return problem(HTTPStatus.BAD_REQUEST, "A JSON object body is required.", code="malformed-json")
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "The request body failed validation.",
        code="validation-failed",
        errors=body_errors or [e for errors in by_source.values() for e in errors],
    )


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def internal_error() -> Response[str]:
    return problem(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "The server failed to handle the request; it has been logged.",
        code="internal-error",
    )


def from_unreadable_event(error: UnreadableEvent) -> Response[str]:
    """503: the resource's history holds an event this deployment cannot read (a newer schema
    version). Not the caller's fault, and nothing is guessed: the command is not run. Which event is
    logged, not told."""
    del error
    return problem(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "This resource's history was written by a newer version of the service than the one answering; "
        "try again once the deployment has finished.",
        code="unreadable-event",
        headers={RETRY_AFTER: str(UNREADABLE_EVENT_RETRY_AFTER_SECONDS)},
    )


def from_dependency_unavailable(error: DependencyUnavailable) -> Response[str]:
    """503: a table or secret the request needs did not answer (unreachable, timed out, throttled,
    failing). Whatever the route and wherever it failed (the event store, a view, the idempotency
    table, the signing secret): the same answer, which names no dependency (the log does). A command
    that got it may or may not have been done; retrying it is safe (with ``Idempotency-Key``,
    exactly once)."""
    del error
    return problem(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "A service this request depends on is not answering right now; try again shortly.",
        code=DEPENDENCY_UNAVAILABLE,
        headers={RETRY_AFTER: str(DEPENDENCY_UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )

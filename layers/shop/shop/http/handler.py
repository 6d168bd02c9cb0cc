"""Turns routers into a Lambda handler: Powertools resolver, problem mapping, logging, metrics, tracing.

A request meets, in this order: its route's guard (``ShopRouter(guard=...)``: who may call it at
all, from the verified caller alone), ``screen`` (size, media type, encoding), then the resolver
(routing, validation of path, query, headers and body, the route itself).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shop import telemetry
from shop.errors import DependencyUnavailable, ShopError, UnreadableEvent
from shop.http import idempotency
from shop.http.contract import IDEMPOTENT_REPLAYED
from shop.http.identity import caller
from shop.http.problems import (
    PROBLEM_JSON,
    HttpProblem,
    from_dependency_unavailable,
    from_http_problem,
    from_shop_error,
    from_unreadable_event,
    from_validation_error,
    internal_error,
    problem_body,
    problem_headers,
)
from shop.http.request import correlation_id
from shop.http.router import RouteGuards, RouteTable, ShopRouter

#: Largest request body accepted (spec: 413 above 64 KB).
MAX_BODY_BYTES = 64 * 1024

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_resolver(routers: Iterable[ShopRouter], *, known_routes: Iterable[tuple[str, str]] = ()) -> Any:
    """A resolver serving ``routers``; ``known_routes`` are the API's other routes (for 405)."""
    # debug=False: with POWERTOOLS_DEV set, the resolver would print every event, Authorization
    # header included. Tokens never reach logs (the Logger below is told not to log events either).
    app = APIGatewayHttpResolver(enable_validation=True, debug=False, json_body_deserializer=read_json)
    routes: list[tuple[str, str]] = list(known_routes)
    for router in routers:
        app.include_router(router)
        routes.extend(router.declared)
    table = RouteTable(routes)
    logger = Logger(child=True)

    @app.exception_handler(ShopError)
    def _shop_error(error: ShopError) -> Response[str]:
        return from_shop_error(error)

    @app.exception_handler(HttpProblem)
    def _http_problem(error: HttpProblem) -> Response[str]:
        return from_http_problem(error)

    @app.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[str]:
        return from_validation_error(error)

    @app.exception_handler(UnreadableEvent)
    def _unreadable_event(error: UnreadableEvent) -> Response[str]:
        logger.error("an event this deployment cannot read", event_type=error.type_name, exc_info=error)
        return from_unreadable_event(error)

    @app.exception_handler(DependencyUnavailable)
    def _dependency_unavailable(error: DependencyUnavailable) -> Response[str]:
        return unavailable(error)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[str]:
        return from_http_problem(unmatched(app.current_event, table))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.error("unhandled error", exc_info=error)
        return internal_error()

    return app


def read_json(text: str) -> Any:
    """The request body's JSON; JSON Python cannot hold as values is a 400, like malformed JSON.

    The parser refuses valid JSON in two ways of its own: an integer of more digits than
    ``sys.get_int_max_str_digits()`` (4300) raises ``ValueError``, and arrays or objects nested
    deeper than the interpreter's recursion limit raise ``RecursionError``. Both fit in a 64 KiB body;
    unhandled they were a 500. Malformed JSON (``JSONDecodeError``) is left to the resolver, which
    answers it the same way.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError):
        raise HttpProblem(
            HTTPStatus.BAD_REQUEST,
            "The request body holds a number too long or nesting too deep to read.",
            code="malformed-json",
        ) from None


def unmatched(event: APIGatewayProxyEventV2, table: RouteTable) -> HttpProblem:
    """404 for a path no route knows; 405 with ``Allow`` for a known path and another method."""
    allowed = table.allowed_methods(event.raw_path)
    if allowed:
        return HttpProblem(
            HTTPStatus.METHOD_NOT_ALLOWED,
            f"{event.request_context.http.method} is not allowed on {event.raw_path}.",
            headers={"Allow": ", ".join(allowed)},
        )
    return HttpProblem(HTTPStatus.NOT_FOUND, f"Nothing is found at {event.raw_path}.", code="not-found")


def screen(event: dict[str, Any]) -> HttpProblem | None:
    """Refusals decided before routing: oversized bodies, bodies that are not JSON text."""
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except ValueError:
        return HttpProblem(HTTPStatus.BAD_REQUEST, "The body is not valid base64.", code="malformed-json")
    if len(raw) > MAX_BODY_BYTES:
        return HttpProblem(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Request bodies are limited to {MAX_BODY_BYTES} bytes."
        )
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and media_type and media_type != "application/json" and not media_type.endswith("+json"):
        return HttpProblem(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send JSON bodies with Content-Type: application/json."
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return HttpProblem(
            HTTPStatus.BAD_REQUEST, "The request body is not UTF-8 text.", code="malformed-json"
        )
    return None


def as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the resolver reads it once ``screen`` let it through: with JSON's media type.

    Powertools parses a body only under a media type spelled ``application/json`` and fails on any
    other (a 500). ``screen`` lets through ``+json`` types, any letter case, and any media type on an
    empty body: all of them JSON or no body at all, so the resolver is told ``application/json``.
    """
    headers: dict[str, str] = event.get("headers") or {}
    if not any(name.lower() == "content-type" for name in headers):
        return event
    kept = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return {**event, "headers": {**kept, "content-type": "application/json"}}


def unavailable(error: DependencyUnavailable) -> Response[str]:
    """The 503 for a dependency that did not answer, logged with what failed and counted."""
    Logger(child=True).warning("dependency unavailable", dependency=error.dependency, reason=error.reason)
    telemetry.count(telemetry.Metric.DEPENDENCY_UNAVAILABLE)
    return from_dependency_unavailable(error)


def proxy_response(response: Response[str]) -> dict[str, Any]:
    """A resolver ``Response`` (a problem built outside the resolver) as the Lambda proxy answer."""
    return {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }


def problem_proxy_response(problem: HttpProblem) -> dict[str, Any]:
    return {
        "statusCode": problem.status.value,
        "headers": {"Content-Type": PROBLEM_JSON, **problem_headers(problem.headers)},
        "body": json.dumps(
            problem_body(problem.status, problem.detail, code=problem.code, errors=problem.errors)
        ),
        "isBase64Encoded": False,
    }


def guarded(event: dict[str, Any], guards: RouteGuards) -> dict[str, Any] | None:
    """The refusal of the request's route guard, asked before anything of the request but its route
    and its caller is read: a caller the route refuses gets the same answer whatever the input."""
    request = APIGatewayProxyEventV2(event)
    guard = guards.guard_for(request.request_context.http.method, request.raw_path)
    if guard is None:
        return None
    try:
        guard(caller(request))
    except ShopError as error:
        return proxy_response(from_shop_error(error))
    return None


def count_command(response: dict[str, Any]) -> None:
    """A command function's answer by outcome: accepted (2xx/3xx), rejected (4xx), failed (5xx);
    an answer replayed for its ``Idempotency-Key`` is counted as such too."""
    status = int(response.get("statusCode", HTTPStatus.INTERNAL_SERVER_ERROR))
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        telemetry.count(telemetry.Metric.COMMAND_FAILED)
    elif status >= HTTPStatus.BAD_REQUEST:
        telemetry.count(telemetry.Metric.COMMAND_REJECTED)
    else:
        telemetry.count(telemetry.Metric.COMMAND_ACCEPTED)
    headers = response.get("headers") or {}
    if any(name.lower() == IDEMPOTENT_REPLAYED.lower() and v == "true" for name, v in headers.items()):
        telemetry.count(telemetry.Metric.IDEMPOTENT_REPLAY)


def http_handler(
    *routers: ShopRouter, known_routes: Iterable[tuple[str, str]] = (), idempotent: bool = False
) -> LambdaHandler:
    """The Lambda entry point for a function serving ``routers`` on an HTTP API; ``idempotent``
    (command functions): a request with an ``Idempotency-Key`` is answered once (``idempotency``),
    and every answer is counted by outcome (``count_command``). Traced and measured through
    ``shop.telemetry`` (built in the first invocation, not here: this runs at import)."""
    app = build_resolver(routers, known_routes=known_routes)
    guards = RouteGuards(routers)
    logger = Logger()

    @logger.inject_lambda_context(log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.set_correlation_id(correlation_id(APIGatewayProxyEventV2(event)))
        response = answer(event, context)
        if idempotent:
            count_command(response)
        logger.info(
            "request",
            method=event.get("requestContext", {}).get("http", {}).get("method"),
            path=event.get("rawPath"),
            status=response.get("statusCode"),
        )
        return response

    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        forbidden = guarded(event, guards)
        if forbidden is not None:
            return forbidden
        refused = screen(event)
        if refused is not None:
            return problem_proxy_response(refused)
        resolve = functools.partial(app.resolve, as_json(event), context)
        try:
            return idempotency.answer(event, context, resolve) if idempotent else resolve()
        except HttpProblem as problem:
            return problem_proxy_response(problem)
        except DependencyUnavailable as error:  # the idempotency table, before the command ran
            return proxy_response(unavailable(error))

    entry: Any = telemetry.instrumented(handler)
    entry.app = app
    entry.routes = [route for router in routers for route in router.declared]
    entry.routers = routers  # what the OpenAPI generator documents (shop.http.openapi)
    return cast(LambdaHandler, entry)

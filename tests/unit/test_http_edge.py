"""The HTTP edge on its own: which status and problem ``type`` each error becomes, and the body limit.

Routes here raise each error on purpose, so the mapping is checked for every ``ShopError`` rather
than for the few a route happens to reach in the integration tests.
"""

from __future__ import annotations

import base64
import json
import uuid
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import Field, field_validator

from local.aws.apigw import HttpRequest, RouteMatch, build_event, parse_result
from local.aws.functions import LambdaContext
from local.aws.template import HttpRoute
from shop.application.messages import Command
from shop.catalog.domain import ProductDiscontinuedError
from shop.errors import (
    BadRequest,
    ConcurrencyConflict,
    FieldError,
    Forbidden,
    Hidden,
    InvalidInput,
    NotFound,
    RuleViolated,
    ShopError,
    VersionMismatch,
)
from shop.eventstore.model import EventMetadata
from shop.http import ShopRouter, http_handler
from shop.http.handler import MAX_BODY_BYTES
from shop.http.problems import HttpProblem
from shop.http.request import command_context, correlation_id, expected_version, resource_id

RAISED: dict[str, ShopError] = {}


class Size(Command):
    width: int = Field(ge=1)


class Thing(Command):
    name: str = Field(min_length=1)
    count: int = Field(ge=1)
    size: Size | None = None
    colour: str = "red"

    @field_validator("colour")
    @classmethod
    def known_colour(cls, value: str) -> str:
        if value == "plaid":
            raise ValueError("plaid is not a colour")
        if value == "beige":  # an assert would be rewritten by pytest; this is what it raises
            raise AssertionError("beige is no colour either")
        return value


def make_handler() -> Any:
    """Routes that raise, echo and validate. Built per test, not at import: mutation testing can only
    reach code that runs inside a test (route registration, the resolver, the 405 table)."""
    router = ShopRouter()

    @router.post("/raise/<kind>")
    def raise_error(kind: str) -> dict[str, Any]:
        raise RAISED[kind]

    @router.post("/echo")
    def echo() -> dict[str, Any]:
        return {"bytes": len((router.current_event.decoded_body or "").encode())}

    @router.post("/raw")
    def raw() -> dict[str, Any]:
        return {"keys": sorted(router.current_event.json_body)}

    @router.post("/things")
    def create_thing(body: Annotated[Thing, Body()]) -> dict[str, Any]:
        return {"name": body.name}

    @router.get("/things")
    def list_things(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
        return {"limit": limit}

    @router.get("/crash")
    def crash() -> dict[str, Any]:
        raise RuntimeError("a bug with a secret in its message")

    @router.get("/probe")
    def probe(x_probe: Annotated[int | None, Header()] = None) -> dict[str, Any]:
        return {"probe": x_probe, "seen": router.current_event.headers.get("x-seen")}

    @router.get("/numbers/<number>")
    def number(number: int) -> dict[str, Any]:
        return {"number": number}

    router.route("/both", ["GET", "PUT"])(lambda: {"both": True})
    router.route("/packed", "GET", None, True)(lambda: {"text": "x" * 2000})
    router.route("/packed-too", "GET", compress=True)(lambda: {"text": "x" * 2000})

    return http_handler(router, known_routes=[("DELETE", "/things/{thingId}")])


class Edge:
    def __init__(self) -> None:
        self.handler = make_handler()

    def invoke(self, event: dict[str, Any]) -> Any:
        return parse_result(self.handler(event, LambdaContext("Fn")))

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        if headers is None:
            headers = {"content-type": "application/json"}
        request = HttpRequest(method, path, headers=headers, body=body)
        match = RouteMatch(HttpRoute("Api", method, path, "Fn"), {})
        return self.invoke(build_event(request, match, api_id="api"))


@pytest.fixture
def edge() -> Edge:
    return Edge()


def all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *all_subclasses(direct)}}


#: Every ShopError, the status it must become and its problem type (spec section 4).
MAPPING: list[tuple[ShopError, int, str]] = [
    (NotFound("Product x does not exist."), 404, "urn:shop:problem:not-found"),
    (Hidden("Cart x does not exist."), 404, "urn:shop:problem:not-found"),  # exactly as NotFound
    (Forbidden("Only administrators may change the catalog."), 403, "urn:shop:problem:forbidden"),
    (RuleViolated("A discontinued product cannot change."), 409, "urn:shop:problem:rule-violated"),
    (ProductDiscontinuedError("Product x is discontinued."), 409, "urn:shop:problem:product-discontinued"),
    (ConcurrencyConflict("Changed concurrently; try again."), 409, "urn:shop:problem:concurrency-conflict"),
    (InvalidInput([FieldError("name", "must not be empty")]), 422, "urn:shop:problem:validation-failed"),
    (BadRequest("The cursor is invalid."), 400, "urn:shop:problem:bad-request"),
    (VersionMismatch(3, 4), 412, "urn:shop:problem:version-mismatch"),
    (ShopError("Something the caller got wrong."), 400, "urn:shop:problem:shop-error"),
]


def test_the_mapping_names_every_shop_error() -> None:
    """Every error ``shop.errors`` defines (domain errors subclass these and map as their base)."""
    defined = {cls for cls in all_subclasses(ShopError) if cls.__module__ == "shop.errors"}
    listed = {type(error) for error, _, _ in MAPPING if type(error).__module__ == "shop.errors"}
    assert listed == {ShopError, *defined}


@pytest.mark.parametrize(("error", "status", "problem_type"), MAPPING, ids=lambda v: getattr(v, "code", None))
def test_each_shop_error_becomes_its_status_and_problem_type(
    edge: Edge, error: ShopError, status: int, problem_type: str
) -> None:
    kind = f"{type(error).__name__}-{error.code}"
    RAISED[kind] = error

    response = edge.call("POST", f"/raise/{kind}")

    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    assert body["detail"] == error.detail
    assert body["title"]
    if isinstance(error, InvalidInput):
        assert body["errors"] == [{"field": "name", "message": "must not be empty"}]
    else:
        assert "errors" not in body


def json_body_of_size(size: int) -> bytes:
    skeleton = b'{"pad":""}'
    body = b'{"pad":"' + b"x" * (size - len(skeleton)) + b'"}'
    assert len(body) == size
    return body


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(edge: Edge, encoded: bool) -> None:
    def post(body: bytes) -> Any:
        request = HttpRequest("POST", "/echo", headers={"content-type": "application/json"}, body=body)
        event = build_event(request, RouteMatch(HttpRoute("Api", "POST", "/echo", "Fn"), {}), api_id="api")
        if encoded:
            event |= {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
        return edge.invoke(event)

    assert MAX_BODY_BYTES == 64 * 1024

    at_limit = post(json_body_of_size(MAX_BODY_BYTES))
    assert (at_limit.status, at_limit.json()) == (200, {"bytes": MAX_BODY_BYTES})

    over = post(json_body_of_size(MAX_BODY_BYTES + 1))
    assert over.status == 413
    assert over.headers["Content-Type"] == "application/problem+json"
    problem = over.json()
    assert problem["status"] == 413
    assert problem["type"] == "urn:shop:problem:content-too-large"
    assert str(MAX_BODY_BYTES) in problem["detail"]


def test_the_limit_counts_bytes_not_characters(edge: Edge) -> None:
    """A body of two-byte characters exactly at the limit in bytes passes; one character more is over."""
    text = "é" * ((MAX_BODY_BYTES - len(b'{"p":""}')) // 2)
    at_limit = ('{"p":"' + text + '"}').encode()
    assert len(at_limit) == MAX_BODY_BYTES
    assert len(at_limit.decode()) < MAX_BODY_BYTES
    assert edge.call("POST", "/echo", at_limit).status == 200
    assert edge.call("POST", "/echo", ('{"p":"' + text + 'é"}').encode()).status == 413


def problem_of(response: Any, status: int, problem_type: str) -> dict[str, Any]:
    assert (response.status, response.headers["Content-Type"]) == (status, "application/problem+json")
    body: dict[str, Any] = response.json()
    assert (body["status"], body["type"]) == (status, problem_type)
    assert body["title"]
    assert body["detail"]
    return body


JSON = {"content-type": "application/json"}
MEDIA_TYPE = "Send JSON bodies with Content-Type: application/json."


@pytest.mark.parametrize(
    ("body", "headers", "status", "problem_type"),
    [
        (b"{oops", JSON, 400, "urn:shop:problem:malformed-json"),
        (b"", JSON, 400, "urn:shop:problem:malformed-json"),
        (b"\xff\xfe{}", JSON, 400, "urn:shop:problem:malformed-json"),
        (b'{"name": "x"}', {"content-type": "text/plain"}, 415, "urn:shop:problem:unsupported-media-type"),
        (b'{"name": "", "count": 0}', JSON, 422, "urn:shop:problem:validation-failed"),
        (b'{"name": "x", "count": 1, "extra": 1}', JSON, 422, "urn:shop:problem:validation-failed"),
        (b"[1]", JSON, 422, "urn:shop:problem:validation-failed"),
    ],
)
def test_bodies_the_edge_refuses(
    edge: Edge, body: bytes, headers: dict[str, str], status: int, problem_type: str
) -> None:
    problem = problem_of(edge.call("POST", "/things", body, headers), status, problem_type)
    if status == 422:
        assert problem["errors"]
        assert all(set(error) == {"field", "message"} for error in problem["errors"])
    else:
        assert "errors" not in problem


@pytest.mark.parametrize(
    "nesting",
    ["[" * 30_000 + "]" * 30_000, '{"name": ' + "[" * 30_000 + "]" * 30_000 + "}"],
    ids=["arrays", "in-a-field"],
)
def test_deeply_nested_json_under_the_size_limit_is_a_400_not_a_500(edge: Edge, nesting: str) -> None:
    """60 KB of nested arrays fits under the 64 KB limit, and Python's ``json`` gives up on it with a
    ``RecursionError`` (not a ``JSONDecodeError``), which reached the resolver's catch-all: a 500
    for bad input. Measured on ``make run`` as alice: ``POST /carts`` and, as admin,
    ``POST /products`` with such a body answered 500 internal-error (5 000 levels: 422)."""
    body = nesting.encode()
    assert len(body) <= MAX_BODY_BYTES
    problem = problem_of(edge.call("POST", "/things", body), 400, "urn:shop:problem:malformed-json")
    assert "errors" not in problem


def test_validation_errors_name_each_field(edge: Edge) -> None:
    problem = problem_of(
        edge.call("POST", "/things", b'{"name": "", "count": 0}'), 422, "urn:shop:problem:validation-failed"
    )
    assert sorted(error["field"] for error in problem["errors"]) == ["count", "name"]
    assert all(not error["message"].startswith("Value error") for error in problem["errors"])


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "Application/Json ; charset=UTF-8",
        "application/merge-patch+json",
        "application/vnd.api+json",
    ],
)
def test_any_json_media_type_is_read_as_json(edge: Edge, content_type: str) -> None:
    """Regression: Powertools parses only ``application/json`` as spelled; other JSON types were 500s."""
    response = edge.call("POST", "/things", b'{"name": "x", "count": 1}', {"Content-Type": content_type})
    assert (response.status, response.json()) == (200, {"name": "x"})


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_missing_body_under_another_media_type_is_400_like_any_missing_body(
    edge: Edge, content_type: str
) -> None:
    """Regression: an empty body with a non-JSON media type passed the screen and was a 500."""
    response = edge.call("POST", "/things", b"", {"content-type": content_type})
    problem = problem_of(response, 400, "urn:shop:problem:malformed-json")
    assert problem["detail"] == "A JSON object body is required."


def test_a_body_that_is_not_base64_is_400(edge: Edge) -> None:
    request = HttpRequest("POST", "/things", headers=JSON, body=b"{}")
    event = build_event(request, RouteMatch(HttpRoute("Api", "POST", "/things", "Fn"), {}), api_id="api")
    event |= {"body": "not base64!", "isBase64Encoded": True}
    problem_of(edge.invoke(event), 400, "urn:shop:problem:malformed-json")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=many"])
def test_bad_query_parameters_are_400_naming_the_parameter(edge: Edge, query: str) -> None:
    request = HttpRequest("GET", "/things", query=query)
    event = build_event(request, RouteMatch(HttpRoute("Api", "GET", "/things", "Fn"), {}), api_id="api")
    problem = problem_of(edge.invoke(event), 400, "urn:shop:problem:bad-request")
    assert [error["field"] for error in problem["errors"]] == ["limit"]


def test_unknown_paths_are_404_and_known_paths_with_another_method_are_405(edge: Edge) -> None:
    problem_of(edge.call("GET", "/nothing/here"), 404, "urn:shop:problem:not-found")
    not_allowed = edge.call("PUT", "/things")
    problem_of(not_allowed, 405, "urn:shop:problem:method-not-allowed")
    assert not_allowed.headers["Allow"] == "GET, POST"
    other = edge.call("GET", "/things/abc")  # declared by another function of the same API
    problem_of(other, 405, "urn:shop:problem:method-not-allowed")
    assert other.headers["Allow"] == "DELETE"


def test_an_unexpected_error_is_a_500_problem_without_details(edge: Edge) -> None:
    response = edge.call("GET", "/crash")
    problem = problem_of(response, 500, "urn:shop:problem:internal-error")
    assert "secret" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    assert "secret" not in problem["detail"]


#: What the JWT authorizer passes for a customer's access token (payload format 2.0).
CLAIMS = {"sub": "sub-1", "token_use": "access", "username": "alice"}


def event_with(headers: dict[str, str], request_id: str = "req-1") -> APIGatewayProxyEventV2:
    authorizer = {"jwt": {"claims": CLAIMS, "scopes": None}}
    return APIGatewayProxyEventV2(
        {"headers": headers, "requestContext": {"requestId": request_id, "authorizer": authorizer}}
    )


@pytest.mark.parametrize(
    ("header", "part", "expected"),
    [
        (None, 0, None),
        ("*", 0, None),
        (' "3" ', 0, 3),
        ('W/"3"', 0, 3),
        ('"2.5"', 0, 2),
        ('"2.5"', 1, 5),
        ('"7"', 1, 7),
    ],
)
def test_if_match_names_the_expected_version(header: str | None, part: int, expected: int | None) -> None:
    headers = {} if header is None else {"if-match": header}
    assert expected_version(event_with(headers), part) == expected


@pytest.mark.parametrize("header", ["3", '"three"', '"1.2.3"', '"-1"', "", '"1234567890123456789"'])
def test_a_malformed_if_match_is_a_400(header: str) -> None:
    with pytest.raises(HttpProblem) as refused:
        expected_version(event_with({"if-match": header}))
    assert (refused.value.status, refused.value.code) == (400, "bad-precondition")


def test_ids_are_canonical_uuids() -> None:
    upper = "9B2F7C1E-3D4A-4E5F-8A6B-7C8D9E0F1A2B"
    assert resource_id(upper, "Product") == upper.lower()
    for bad in ("123", f"urn:uuid:{upper}", upper.replace("-", ""), f"{upper}x", ""):
        with pytest.raises(NotFound, match=r"^Product "):
            resource_id(bad, "Product")


def test_commands_carry_the_callers_correlation_id_when_it_is_sane() -> None:
    sane = command_context(event_with({"x-correlation-id": "abc-123", "if-match": '"4"'}))
    assert (sane.correlation_id, sane.causation_id, sane.expected_version) == ("abc-123", "req-1", 4)
    assert sane.metadata == EventMetadata("abc-123", "req-1", "sub-1")  # the request id is the cause
    for insane in ("", "has space", "x" * 129, "ünï"):
        assert correlation_id(event_with({"x-correlation-id": insane})) == "req-1"
    assert correlation_id(event_with({"x-correlation-id": "x" * 128})) == "x" * 128


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "detail"),
    [
        ("POST", "/things", b"{oops", JSON, 400, "The request body is not valid JSON."),
        ("POST", "/things", b"", JSON, 400, "A JSON object body is required."),
        ("POST", "/things", b"\xff", JSON, 400, "The request body is not UTF-8 text."),
        ("POST", "/things", b"x", {"content-type": "text/csv"}, 415, MEDIA_TYPE),
        ("POST", "/things", b"{}", JSON, 422, "The request body failed validation."),
        ("GET", "/things?limit=0", b"", JSON, 400, "Invalid query parameters or headers."),
        ("GET", "/crash", b"", JSON, 500, "The server failed to handle the request; it has been logged."),
        ("GET", "/nothing/here", b"", JSON, 404, "Nothing is found at /nothing/here."),
        ("PATCH", "/things", b"", JSON, 405, "PATCH is not allowed on /things."),
    ],
)
def test_the_edge_explains_each_refusal(
    edge: Edge, method: str, path: str, body: bytes, headers: dict[str, str], status: int, detail: str
) -> None:
    path, _, query = path.partition("?")
    request = HttpRequest(method, path, query=query, headers=headers, body=body)
    response = edge.invoke(
        build_event(request, RouteMatch(HttpRoute("Api", method, path, "Fn"), {}), api_id="api")
    )
    assert (response.status, response.json()["detail"]) == (status, detail)


def test_a_body_without_a_media_type_is_json(edge: Edge) -> None:
    response = edge.call("POST", "/things", b'{"name": "x", "count": 1}', headers={})
    assert (response.status, response.json()) == (200, {"name": "x"})


def test_base64_bodies_are_decoded_strictly(edge: Edge) -> None:
    """``e3 0=`` is ``{}`` to a lenient decoder, which skips the space; a strict one refuses it."""
    request = HttpRequest("POST", "/things", headers=JSON, body=b"{}")
    event = build_event(request, RouteMatch(HttpRoute("Api", "POST", "/things", "Fn"), {}), api_id="api")
    event |= {"body": "e3 0=", "isBase64Encoded": True}
    response = edge.invoke(event)
    assert (response.status, response.json()["detail"]) == (400, "The body is not valid base64.")


def test_other_headers_reach_the_route_when_the_media_type_is_rewritten(edge: Edge) -> None:
    response = edge.call(
        "GET", "/probe", headers={"content-type": "application/merge-patch+json", "x-seen": "yes"}
    )
    assert response.json() == {"probe": None, "seen": "yes"}


def test_bad_headers_are_400_naming_the_header(edge: Edge) -> None:
    response = edge.call("GET", "/probe", headers={"x-probe": "many"})
    problem = problem_of(response, 400, "urn:shop:problem:bad-request")
    assert [error["field"] for error in problem["errors"]] == ["x-probe"]
    assert edge.call("GET", "/probe", headers={"x-probe": "3"}).json()["probe"] == 3


def test_invalid_path_parameters_are_422_naming_them(edge: Edge) -> None:
    problem = problem_of(edge.call("GET", "/numbers/abc"), 422, "urn:shop:problem:validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["number"]


def test_validation_messages_name_nested_fields_and_drop_pydantics_prefixes(edge: Edge) -> None:
    def errors(body: str) -> list[dict[str, str]]:
        problem = problem_of(
            edge.call("POST", "/things", body.encode()), 422, "urn:shop:problem:validation-failed"
        )
        return list(problem["errors"])

    [nested] = errors('{"name": "x", "count": 1, "size": {"width": 0}}')
    assert nested["field"] == "size.width"
    assert errors('{"name": "x", "count": 1, "colour": "plaid"}') == [
        {"field": "colour", "message": "plaid is not a colour"}
    ]
    assert errors('{"name": "x", "count": 1, "colour": "beige"}') == [
        {"field": "colour", "message": "beige is no colour either"}
    ]


def test_routes_may_take_several_methods_and_route_options(edge: Edge) -> None:
    assert edge.call("GET", "/both").json() == {"both": True}
    assert edge.call("PUT", "/both").json() == {"both": True}
    assert ("GET", "/both") in edge.handler.routes
    assert ("PUT", "/both") in edge.handler.routes
    for path in ("/packed", "/packed-too"):
        packed = edge.call("GET", path, headers={"accept-encoding": "gzip"})
        assert packed.headers.get("Content-Encoding") == "gzip", path


def test_the_handler_lists_its_routes_as_api_gateway_paths(edge: Edge) -> None:
    routes = edge.handler.routes
    assert ("POST", "/raise/{kind}") in routes
    assert ("GET", "/numbers/{number}") in routes
    assert hasattr(edge.handler.app, "resolve")


def test_the_405_table_knows_greedy_paths() -> None:
    from shop.http.router import RouteTable, template_path  # noqa: PLC0415

    table = RouteTable([("GET", "/files/{path+}"), ("PUT", "/files/{name}"), ("POST", "/a.b")])
    assert table.allowed_methods("/files/x/y/z") == ["GET"]
    assert table.allowed_methods("/files/x") == ["GET", "PUT"]
    assert table.allowed_methods("/aXb") == []
    assert template_path("/a/<b>/c/<d>") == "/a/{b}/c/{d}"


def test_command_answers_carry_the_id_the_version_an_etag_and_a_token() -> None:
    from shop.application import CommandResult  # noqa: PLC0415
    from shop.http import consistency  # noqa: PLC0415
    from shop.http.responses import command_response, etag, json_response  # noqa: PLC0415

    tokens = consistency.TokenCodec("a-secret-of-enough-length")
    token = tokens.issue(consistency.Written("product-p-1", 4))
    assert etag(3) == '"3"'
    assert etag(3, 7) == '"3.7"'
    result = CommandResult("p-1", "product-p-1", 4, changed=True)

    created = command_response(
        result, "productId", tokens=tokens, status=HTTPStatus.CREATED, location="/products/p-1"
    )
    assert (created.status_code, created.content_type) == (201, "application/json")
    assert created.headers == {
        "Content-Type": "application/json",
        "ETag": '"4"',
        "Location": "/products/p-1",
        "X-Consistency-Token": token,
    }
    assert json.loads(created.body) == {"productId": "p-1", "version": 4}

    stocked = command_response(
        result, "productId", tokens=tokens, version_field="stockVersion", extra={"x": [1]}
    )
    assert stocked.status_code == 200
    assert stocked.headers == {
        "Content-Type": "application/json",
        "ETag": '"4"',
        "X-Consistency-Token": token,
    }
    assert stocked.body == '{"productId":"p-1","stockVersion":4,"x":[1]}'

    plain = json_response({"a": 1})
    assert (plain.status_code, plain.body, plain.headers) == (
        200,
        '{"a":1}',
        {"Content-Type": "application/json"},
    )


def test_a_page_answer_binds_its_cursor_to_the_query() -> None:
    from shop.http.cursor import CursorCodec, page_response  # noqa: PLC0415
    from shop.views import Page  # noqa: PLC0415

    codec = CursorCodec("a-secret-of-enough-length")
    asked: list[object] = []

    def fetch(start: dict[str, Any] | None) -> Page:
        asked.append(start)
        return Page([{"id": 1}], {"id": 1} if start is None else None)

    first = page_response(codec, {"category": "c"}, None, fetch, cache_control="public, max-age=5")
    body = json.loads(first.body)
    assert (first.status_code, body["items"]) == (200, [{"id": 1}])
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert codec.decode(body["nextCursor"], {"category": "c"}) == {"id": 1}

    last = json.loads(
        page_response(codec, {"category": "c"}, body["nextCursor"], fetch, cache_control="x").body
    )
    assert last == {"items": [{"id": 1}], "nextCursor": None}
    assert asked == [None, {"id": 1}]


def test_requests_without_an_api_gateway_request_id_still_get_ids() -> None:
    event = event_with({}, request_id="")
    context = command_context(event)
    assert uuid.UUID(context.correlation_id)
    assert uuid.UUID(context.causation_id)
    assert correlation_id(event_with({})) == "req-1"


def test_the_stock_part_of_an_etag_is_read_for_stock_commands() -> None:
    event = event_with({"if-match": '"2.5"'})
    assert expected_version(event) == 2  # the product's part unless asked otherwise
    assert command_context(event, etag_part=1).expected_version == 5
    assert command_context(event).expected_version == 2


def test_a_malformed_if_match_says_what_is_expected() -> None:
    with pytest.raises(HttpProblem, match=r'^If-Match must be an entity tag like "3"\.$'):
        expected_version(event_with({"if-match": "3"}))


def test_an_unknown_id_is_named_in_the_answer_up_to_80_characters() -> None:
    with pytest.raises(NotFound) as refused:
        resource_id("x" * 100, "Cart")
    assert refused.value.detail == f"Cart {'x' * 80} does not exist."


@pytest.mark.parametrize(
    "body",
    [
        # Valid JSON that Python's parser refuses: an integer over 4300 digits raises ValueError
        # (sys.get_int_max_str_digits), nesting deeper than the recursion limit RecursionError.
        # Both fit well inside the 64 KiB limit; on every body route of `make run` they were a 500.
        ('{"name": "x", "count": ' + "9" * 5000 + "}").encode(),
        ("[" * 20_000 + "]" * 20_000).encode(),
    ],
    ids=["integer-of-5000-digits", "arrays-nested-20000-deep"],
)
def test_json_the_parser_cannot_hold_is_a_4xx_problem_never_a_500(edge: Edge, body: bytes) -> None:
    response = edge.call("POST", "/things", body)
    assert response.status == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:shop:problem:malformed-json"


def test_json_the_parser_cannot_hold_is_a_400_where_a_route_reads_the_body_itself(edge: Edge) -> None:
    """A route reading ``current_event.json_body`` (not through a model) parses with the same reader."""
    response = edge.call("POST", "/raw", ("[" * 20_000 + "]" * 20_000).encode())
    assert response.status == 400, response.body
    assert response.json()["type"] == "urn:shop:problem:malformed-json"
    assert edge.call("POST", "/raw", b'{"a": [1, 2]}').json() == {"keys": ["a"]}

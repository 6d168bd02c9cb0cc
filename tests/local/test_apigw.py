"""The local stack routes and shapes requests like API Gateway HTTP APIs (payload format 2.0)."""

from __future__ import annotations

import base64

from local.aws.apigw import HttpApiRoutes, HttpRequest, RouteMatch, build_event, parse_result
from local.aws.template import HttpRoute


def route(method: str, path: str, function: str = "F") -> HttpRoute:
    return HttpRoute("Api", method, path, function)


ROUTES = HttpApiRoutes(
    [
        route("GET", "/products/{productId}", "Get"),
        route("GET", "/products/special", "Special"),
        route("ANY", "/products/{productId}", "Any"),
        route("GET", "/files/{proxy+}", "Files"),
        route("ANY", "$default", "Default"),
    ]
)


def test_exact_method_and_static_segments_win() -> None:
    assert ROUTES.match("GET", "/products/special").route.function == "Special"  # type: ignore[union-attr]
    found = ROUTES.match("GET", "/products/42")
    assert found == RouteMatch(route("GET", "/products/{productId}", "Get"), {"productId": "42"})


def test_any_catches_other_methods_then_greedy_then_default() -> None:
    assert ROUTES.match("DELETE", "/products/42").route.function == "Any"  # type: ignore[union-attr]
    assert ROUTES.match("GET", "/files/a/b/c").path_parameters == {"proxy": "a/b/c"}  # type: ignore[union-attr]
    assert ROUTES.match("POST", "/nothing").route.function == "Default"  # type: ignore[union-attr]
    assert HttpApiRoutes([route("GET", "/a")]).match("POST", "/a") is None


def test_event_has_the_v2_shape() -> None:
    request = HttpRequest(
        "post", "/products/7", "a=1&a=2&b=", {"Content-Type": "application/json", "X-A": "1"}, b'{"x":1}'
    )
    event = build_event(request, RouteMatch(route("POST", "/products/{id}"), {"id": "7"}), api_id="api")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /products/{id}"
    assert event["rawPath"] == "/products/7"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"] == {"content-type": "application/json", "x-a": "1"}
    assert event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["stage"] == "$default"
    assert (event["body"], event["isBase64Encoded"]) == ('{"x":1}', False)


def test_binary_bodies_are_base64() -> None:
    request = HttpRequest("POST", "/x", "", {"content-type": "application/octet-stream"}, b"\xff\x00")
    event = build_event(request, RouteMatch(route("POST", "/x"), {}), api_id="api")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_results_are_interpreted_like_api_gateway() -> None:
    response = parse_result({"statusCode": 201, "headers": {"ETag": '"1"'}, "body": "{}", "cookies": ["a=b"]})
    assert (response.status, response.headers["ETag"], response.headers["Set-Cookie"]) == (201, '"1"', "a=b")
    assert parse_result({"any": "dict"}).json() == {"any": "dict"}
    encoded = parse_result(
        {"statusCode": 200, "body": base64.b64encode(b"hi").decode(), "isBase64Encoded": True}
    )
    assert encoded.body == b"hi"


def test_what_the_authorizer_granted_is_in_the_request_context_and_a_public_route_has_none() -> None:
    request = HttpRequest("GET", "/products/42")
    match = RouteMatch(route("GET", "/products/{productId}"), {"productId": "42"})
    granted = {"jwt": {"claims": {"sub": "s", "exp": "1"}, "scopes": None}}
    assert (
        build_event(request, match, api_id="a", authorizer=granted)["requestContext"]["authorizer"] == granted
    )
    assert "authorizer" not in build_event(request, match, api_id="a")["requestContext"]

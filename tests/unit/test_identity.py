"""Who is calling: the claims API Gateway's JWT authorizer passes, read in one place, failing closed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel, Field

from local.aws.apigw import HttpRequest, RouteMatch, build_event, parse_result
from local.aws.functions import LambdaContext
from local.aws.template import HttpRoute
from shop.application import Caller
from shop.errors import Forbidden
from shop.http import ShopRouter, http_handler
from shop.http.identity import caller, caller_from_claims, groups_of
from shop.http.request import resource_id

#: A Cognito access token's claims as an HTTP API (payload format 2.0) presents them: all strings.
CLAIMS = {
    "auth_time": "1787992402",
    "client_id": "5kek0i61pgkokoob4fsm9fo9it",
    "cognito:groups": "[admin]",
    "exp": "1787996002",
    "iat": "1787992402",
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_HblcSIjTD",
    "jti": "afa8fe33-607e-4fdb-99ac-81c27d1ddc73",
    "scope": "aws.cognito.signin.user.admin",
    "sub": "6418b458-d091-705e-122e-04bf2945fcdf",
    "token_use": "access",
    "username": "admin",
}


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("[admin]", {"admin"}),
        ("[admin editors]", {"admin", "editors"}),
        ("[ admin  editors ]", {"admin", "editors"}),
        ("admin", {"admin"}),
        ("[]", set()),
        ("", set()),
        (["admin", "editors"], {"admin", "editors"}),
        (["admin", 7, ""], {"admin"}),
        (None, set()),
        (7, set()),
        ({"admin": True}, set()),
    ],
)
def test_groups_are_read_in_the_bracket_form_and_as_lists(value: Any, groups: set[str]) -> None:
    assert groups_of(value) == groups


@pytest.mark.parametrize(
    "value", ["[Admin]", "[administrators]", "[admin,editors]", '["admin"]', "admins", "[xadmin]"]
)
def test_nothing_but_the_exact_group_name_makes_an_admin(value: str) -> None:
    assert not caller_from_claims({**CLAIMS, "cognito:groups": value}).is_admin


def test_an_access_tokens_claims_name_the_caller() -> None:
    assert caller_from_claims(CLAIMS) == Caller(CLAIMS["sub"], frozenset({"admin"}))
    customer = caller_from_claims({k: v for k, v in CLAIMS.items() if k != "cognito:groups"})
    assert (customer.sub, customer.groups, customer.is_admin) == (CLAIMS["sub"], frozenset(), False)


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": None},
        {"sub": ""},
        {"sub": "   "},
        {"sub": 7},
        {"token_use": "id"},  # an ID token passes the authorizer (aud = client id) but is not an access token
        {"token_use": None},
    ],
)
def test_claims_that_name_nobody_are_forbidden(changes: dict[str, Any]) -> None:
    claims = {k: v for k, v in {**CLAIMS, **changes}.items() if v is not None}
    with pytest.raises(Forbidden, match="no verified access token"):
        caller_from_claims(claims)


def event(authorizer: Any) -> APIGatewayProxyEventV2:
    context: dict[str, Any] = {"requestId": "r"}
    if authorizer is not ...:
        context["authorizer"] = authorizer
    return APIGatewayProxyEventV2({"headers": {}, "requestContext": context})


def test_the_caller_comes_from_request_context_authorizer_jwt_claims() -> None:
    assert caller(event({"jwt": {"claims": CLAIMS, "scopes": None}})).sub == CLAIMS["sub"]


@pytest.mark.parametrize(
    "authorizer",
    [
        ...,
        None,
        {},
        {"jwt": None},
        {"jwt": {"claims": None}},
        {"lambda": {"sub": "x", "token_use": "access"}},
    ],
)
def test_without_verified_claims_there_is_no_caller(authorizer: Any) -> None:
    with pytest.raises(Forbidden):
        caller(event(authorizer))


def test_a_token_in_the_headers_is_never_read() -> None:
    forged = APIGatewayProxyEventV2(
        {"headers": {"authorization": "Bearer x.y.z"}, "requestContext": {"requestId": "r"}}
    )
    with pytest.raises(Forbidden):
        caller(forged)


def test_the_rules_of_a_caller() -> None:
    admin, alice = Caller("a", frozenset({"admin"})), Caller("alice")
    assert admin.is_admin
    assert not alice.is_admin
    assert admin.may_act_for("bob")
    assert alice.may_act_for("alice")
    assert not alice.may_act_for("bob")
    assert alice.customer(None, "x") == "alice"
    assert admin.customer(None, "x") == "a"
    assert alice.customer("alice", "x") == "alice"
    assert admin.customer("bob", "x") == "bob"
    with pytest.raises(Forbidden, match=r"^Customers may create carts only for themselves"):
        alice.customer("bob", "create carts")
    with pytest.raises(Forbidden, match=r"^Only administrators may change the catalog"):
        alice.require_admin("change the catalog")
    admin.require_admin("change the catalog")
    with pytest.raises(ValueError, match="subject"):
        Caller("")


SECRET = "eyJraWQiOiJzZWNyZXQifQ.c2VjcmV0LXBheWxvYWQ.c2VjcmV0LXNpZ25hdHVyZQ"


def test_tokens_never_reach_the_logs(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Everything a function logs, with every Powertools switch that could log events turned on."""
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("POWERTOOLS_EVENT_HANDLER_DEBUG", "true")
    # A logger of its own (Powertools keeps one per service, configured by whoever made it first).
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"token-check-{uuid.uuid4().hex[:8]}")
    router = ShopRouter()

    @router.post("/whoami")
    def whoami() -> dict[str, Any]:
        return {"sub": caller(router.current_event).sub}

    @router.get("/crash")
    def crash() -> dict[str, Any]:
        raise RuntimeError("a bug")

    handler = http_handler(router)

    def send(method: str, path: str) -> int:
        request = HttpRequest(method, path, headers={"authorization": f"Bearer {SECRET}"}, body=b"{}")
        granted = {"jwt": {"claims": CLAIMS, "scopes": None}}
        match = RouteMatch(HttpRoute("Api", method, path, "Fn"), {})
        built = build_event(request, match, api_id="a", authorizer=granted)
        return parse_result(handler(built, LambdaContext("Fn"))).status

    assert [send("POST", "/whoami"), send("GET", "/nowhere"), send("GET", "/crash")] == [200, 404, 500]
    logged = "".join(capfd.readouterr())
    assert '"message":"request"' in logged.replace(" ", "")  # the handler did log, at DEBUG
    assert "unhandled error" in logged
    secret_parts = SECRET.split(".")
    assert not any(part in logged for part in secret_parts[:2]), logged


class Named(BaseModel):
    name: str = Field(min_length=1)


def guarded_handler() -> Any:
    """An admins-only router next to an open one, both behind one handler."""
    admins = ShopRouter(guard=lambda who: who.require_admin("run the guarded routes"))
    anyone = ShopRouter()

    @admins.put("/guarded/<thing_id>")
    def put_guarded(thing_id: str, body: Annotated[Named, Body()]) -> dict[str, Any]:
        return {"id": resource_id(thing_id, "Thing"), "name": body.name}

    @anyone.put("/open/<thing_id>")
    def put_open(thing_id: str, body: Annotated[Named, Body()]) -> dict[str, Any]:
        return {"id": resource_id(thing_id, "Thing"), "name": body.name}

    return http_handler(admins, anyone)


THING = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"


def put(handler: Any, path: str, body: bytes, claims: Any, content_type: str = "application/json") -> Any:
    request = HttpRequest("PUT", path, headers={"content-type": content_type}, body=body)
    granted = {"jwt": {"claims": claims, "scopes": None}} if claims is not None else None
    match = RouteMatch(HttpRoute("Api", "PUT", path, "Fn"), {})
    return parse_result(
        handler(build_event(request, match, api_id="a", authorizer=granted), LambdaContext("Fn"))
    )


CUSTOMER = {k: v for k, v in CLAIMS.items() if k != "cognito:groups"}

#: Input the edge refuses for anyone allowed to call the route: 422, 400, 404, 413, 415.
BAD_INPUT = [
    (f"/guarded/{THING}", b'{"name": ""}', "application/json"),
    (f"/guarded/{THING}", b"{not json", "application/json"),
    ("/guarded/not-a-uuid", b'{"name": "x"}', "application/json"),
    (f"/guarded/{THING}", b'{"name": "' + b"x" * 70_000 + b'"}', "application/json"),
    (f"/guarded/{THING}", b"name=x", "application/x-www-form-urlencoded"),
    (f"/guarded/{THING}", b"\xff\xfe", "application/json"),
]


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [(f"/guarded/{THING}", b'{"name": "x"}', "application/json"), *BAD_INPUT],
)
@pytest.mark.parametrize("claims", [CUSTOMER, None], ids=["customer", "no-claims"])
def test_a_router_guard_refuses_before_any_input_is_judged(
    path: str, body: bytes, content_type: str, claims: Any
) -> None:
    """A guard runs before the screen (size, media type, encoding) and the resolver (path, body): a
    caller it refuses gets its 403 whatever the input, so the answer reveals no input rule."""
    reply = put(guarded_handler(), path, body, claims, content_type)
    assert reply.status == 403, reply.body
    problem = reply.json()
    assert problem["type"] == "urn:shop:problem:forbidden"
    assert reply.headers["Content-Type"] == "application/problem+json"
    if claims is not None:
        assert problem["detail"] == "Only administrators may run the guarded routes."


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status"),
    [
        (path, body, content_type, status)
        for (path, body, content_type), status in zip(BAD_INPUT, [422, 400, 404, 413, 415, 400], strict=True)
    ],
)
def test_callers_a_guard_lets_through_and_unguarded_routes_meet_the_input_rules(
    path: str, body: bytes, content_type: str, status: int
) -> None:
    handler = guarded_handler()
    assert put(handler, path, body, CLAIMS, content_type).status == status
    assert put(handler, path.replace("/guarded/", "/open/"), body, CUSTOMER, content_type).status == status
    assert put(handler, f"/guarded/{THING}", b'{"name": "x"}', CLAIMS).json() == {"id": THING, "name": "x"}

"""Sign-in in template.yaml: the user pool, its client and group, and which routes need a token.

The routes' authorization is read from the template as SAM deploys it (``samtranslator``), and the
local stack's reading of the template (``local.aws.template``) must agree with it route by route:
the emulated authorizer guards exactly what API Gateway will guard.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from local.aws.template import TEMPLATE, Template
from tests.support.iam import translate

PUBLIC = {
    ("QueryApi", "GET", "/products"),
    ("QueryApi", "GET", "/products/{productId}"),
    ("QueryApi", "ANY", "$default"),
    ("CommandApi", "ANY", "$default"),
}


@functools.cache
def deployed() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415

    return translate(yaml_parse(Path(TEMPLATE).read_text()))


def deployed_security(api: str) -> dict[tuple[str, str], list[dict[str, list[str]]]]:
    body = deployed()["Resources"][api]["Properties"]["Body"]
    security = {}
    for path, methods in body["paths"].items():
        for method, spec in methods.items():
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            security[(verb, path)] = spec.get("security", [])
    return security


def test_only_browsing_and_the_fallbacks_are_public(template: Template) -> None:
    public = {(r.api, r.method, r.path) for r in template.routes if r.authorizer is None}
    assert public == PUBLIC
    for api in template.http_apis:
        for (method, path), security in deployed_security(api).items():
            expected = [{"NONE": []}] if (api, method, path) in PUBLIC else [{"CognitoJwt": []}]
            assert security == expected, (api, method, path)


def test_the_local_stack_reads_each_routes_authorizer_as_sam_deploys_it(template: Template) -> None:
    for api in template.http_apis:
        deployed_routes = deployed_security(api)
        local = {(r.method, r.path): r for r in template.routes_of(api)}
        assert set(local) == set(deployed_routes), api
        for key, route in local.items():
            [requirement] = deployed_routes[key]
            [(name, scopes)] = requirement.items()
            assert (route.authorizer or "NONE", list(route.scopes)) == (name, scopes), (api, key)


def test_both_apis_accept_the_user_pools_access_tokens_from_the_authorization_header(
    template: Template,
) -> None:
    for api in ("CommandApi", "QueryApi"):
        assert template.http_api_auth(api)["DefaultAuthorizer"] == "CognitoJwt"
        [spec] = template.jwt_authorizers(api).values()
        assert spec.identity_source == "$request.header.Authorization"
        assert spec.issuer == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
        assert spec.audience == ({"Ref": "UserPoolClient"},)
        scheme = deployed()["Resources"][api]["Properties"]["Body"]["components"]["securitySchemes"][
            "CognitoJwt"
        ]
        assert scheme["x-amazon-apigateway-authorizer"]["type"] == "jwt"


def test_the_user_pool_its_client_and_the_admin_group(template: Template) -> None:
    assert template.resources["UserPool"]["Type"] == "AWS::Cognito::UserPool"
    client = template.resources["UserPoolClient"]
    assert client["Type"] == "AWS::Cognito::UserPoolClient"
    properties = client["Properties"]
    assert properties["UserPoolId"] == {"Ref": "UserPool"}
    assert sorted(properties["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert properties["GenerateSecret"] is False
    [group] = template.of_type("AWS::Cognito::UserPoolGroup").values()
    assert group["Properties"] == {
        **group["Properties"],
        "GroupName": "admin",
        "UserPoolId": {"Ref": "UserPool"},
    }
    assert len(template.of_type("AWS::Cognito::UserPoolClient")) == 1

"""Reading a template's HTTP API authorizers the way SAM applies them to routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.aws.template import Template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            AuthorizationScopes: [shop/read]
            JwtConfiguration:
              issuer: https://issuer.example
              audience: [one, two]
          Other:
            JwtConfiguration: {issuer: https://other.example, audience: three}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Handler: app.handler
      Runtime: python3.13
      Events:
        Default:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /default, Method: GET}
        Public:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /public, Method: GET, Auth: {Authorizer: NONE}}
        Scoped:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /scoped
            Method: POST
            Auth: {Authorizer: Other, AuthorizationScopes: [shop/write]}
        Fallback:
          Type: HttpApi
          Properties: {ApiId: !Ref Api}
"""


def load(tmp_path: Path, text: str = TEMPLATE) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return Template(path)


def test_routes_take_the_default_authorizer_unless_they_say_otherwise(tmp_path: Path) -> None:
    routes = {r.path: (r.authorizer, r.scopes) for r in load(tmp_path).routes}
    assert routes == {
        "/default": ("Jwt", ("shop/read",)),  # the authorizer's own scopes
        "/public": (None, ()),
        "/scoped": ("Other", ("shop/write",)),  # the route's scopes win
        "$default": ("Jwt", ("shop/read",)),
    }


def test_jwt_authorizers_are_read_with_their_issuer_and_audience(tmp_path: Path) -> None:
    specs = load(tmp_path).jwt_authorizers("Api")
    assert (specs["Jwt"].issuer, specs["Jwt"].audience, specs["Jwt"].scopes) == (
        "https://issuer.example",
        ("one", "two"),
        ("shop/read",),
    )
    assert (specs["Other"].identity_source, specs["Other"].audience) == (
        "$request.header.Authorization",
        ("three",),
    )


def test_an_api_without_auth_has_public_routes(tmp_path: Path) -> None:
    text = TEMPLATE.replace(
        "      Auth:\n        DefaultAuthorizer: Jwt\n", "      Xuth:\n        DefaultAuthorizer: Jwt\n"
    )
    text = text.replace("            Auth: {Authorizer: Other, AuthorizationScopes: [shop/write]}\n", "")
    assert {r.path: r.authorizer for r in load(tmp_path, text).routes} == dict.fromkeys(
        ["/default", "/public", "/scoped", "$default"]
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Auth: {Authorizer: NONE}", "Auth: {Authorizer: AWS_IAM}", "AWS_IAM is not emulated"),
        ("Auth: {Authorizer: NONE}", "Auth: {Authorizer: Missing}", "Missing is not emulated"),
    ],
)
def test_authorizers_it_cannot_emulate_stop_it_rather_than_leave_routes_open(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _ = load(tmp_path, TEMPLATE.replace(old, new)).routes


def test_a_lambda_authorizer_is_refused(tmp_path: Path) -> None:
    text = TEMPLATE.replace(
        "          Other:\n            JwtConfiguration: {issuer: https://other.example, audience: three}",
        "          Other:\n            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:auth",
    )
    with pytest.raises(ValueError, match="only JWT authorizers are emulated"):
        load(tmp_path, text).jwt_authorizers("Api")

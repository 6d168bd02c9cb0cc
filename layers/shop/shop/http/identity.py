"""Who is calling: the one place that reads identity, from the JWT authorizer's verified claims.

API Gateway's JWT authorizer has already checked the token (signature, issuer, audience, expiry)
before the function runs, and passes its claims in ``requestContext.authorizer.jwt.claims``
(payload format 2.0; "Control access to HTTP APIs with JWT authorizers",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html). In that
payload every claim value is a string: numbers in decimal (``"exp": "1787996002"``) and lists as
one string in brackets, items separated by spaces, so a Cognito access token's groups arrive as
``"cognito:groups": "[admin]"`` or ``"[admin editors]"`` (a real event: DefinitelyTyped
PR #75458; the bracket form: aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock
PR #803). A list (an event written by hand, or another integration) is read too.

The function never sees or reads the token itself, and never logs it. Without verified claims
(a route the template left public, ``sam local invoke`` with an event that has none) or with claims
that are not an access token's, the caller is refused: ``Forbidden``, never a guessed identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shop.application import Caller
from shop.errors import Forbidden

GROUPS_CLAIM = "cognito:groups"


def groups_of(value: Any) -> frozenset[str]:
    """Group names from the ``cognito:groups`` claim: ``"[a b]"``, ``"a"`` or ``["a", "b"]``."""
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str) and item)
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(text.split())


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    """The caller an access token's claims name; ``Forbidden`` if they name nobody."""
    subject = claims.get("sub")
    if claims.get("token_use") != "access" or not isinstance(subject, str) or not subject.strip():
        raise Forbidden("The request carries no verified access token.")
    return Caller(subject, groups_of(claims.get(GROUPS_CLAIM)))


def caller(event: APIGatewayProxyEventV2) -> Caller:
    """The caller of an API request, from ``requestContext.authorizer.jwt.claims``."""
    return caller_from_claims(event.request_context.authorizer.jwt_claim)

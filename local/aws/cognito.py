"""The template's Cognito user pools, app clients and groups on the local endpoint (moto's cognito-idp).

``create_user_pools`` creates them like CloudFormation would, so ``!Ref UserPool`` resolves to a
pool id and ``!Ref UserPoolClient`` to a client id; ``UserDirectory`` adds users and signs them in
with the real Cognito API (``InitiateAuth``, ``USER_PASSWORD_AUTH``), which is also what any client
can do against the endpoint. The keys a pool signs with come from its JWKS document,
``<issuer>/.well-known/jwks.json``; the moto server serves it at ``<endpoint>/<pool id>/.well-known/
jwks.json`` (``endpoint_keys``). In process (``mock_aws``) the same document comes from moto's own
handler (``in_process_keys``), so no request can ever leave the machine.

moto signs the tokens of every pool with one key pair (its ``jwks-private.json``, kid ``dummy``):
the signature proves that the local endpoint issued a token, and the issuer check (the pool) and
the audience check (the app client) tell pools and clients apart, as they do in AWS.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.request
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from local.aws.authorizers import KeySource
from local.aws.template import Template

_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+)$")

#: Template properties of the three resource types that the local endpoint takes as they are.
_POOL_PROPERTIES = ("Policies", "AdminCreateUserConfig", "UsernameConfiguration", "AccountRecoverySetting")
_CLIENT_PROPERTIES = (
    "ExplicitAuthFlows",
    "GenerateSecret",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


def pool_of(issuer: str) -> tuple[str, str]:
    """``(region, pool id)`` of a Cognito issuer URL; ``ValueError`` for any other issuer."""
    found = _ISSUER.match(issuer)
    if not found:
        raise ValueError(f"not a Cognito user pool issuer: {issuer}")
    return found.group(1), found.group(2)


def create_user_pools(
    template: Template,
    client: Any,
    physical: MutableMapping[str, str],
    attributes: MutableMapping[str, str],
    prefix: str = "",
    region: str = "us-east-1",
) -> None:
    """Create the template's user pools, then their app clients, then their groups."""
    for logical, resource in template.of_type("AWS::Cognito::UserPool").items():
        properties = resource.get("Properties", {})
        kept = {name: properties[name] for name in _POOL_PROPERTIES if name in properties}
        pool = client.create_user_pool(PoolName=f"{prefix}{logical}", **kept)["UserPool"]
        physical[logical] = pool["Id"]
        attributes[f"{logical}.Arn"] = pool["Arn"]
        attributes[f"{logical}.ProviderName"] = f"cognito-idp.{region}.amazonaws.com/{pool['Id']}"
    for logical, resource in template.of_type("AWS::Cognito::UserPoolClient").items():
        properties = template.resolve(resource.get("Properties", {}), physical, attributes)
        kept = {name: properties[name] for name in _CLIENT_PROPERTIES if name in properties}
        created = client.create_user_pool_client(
            UserPoolId=properties["UserPoolId"], ClientName=properties.get("ClientName", logical), **kept
        )
        physical[logical] = created["UserPoolClient"]["ClientId"]
    for logical, resource in template.of_type("AWS::Cognito::UserPoolGroup").items():
        properties = template.resolve(resource.get("Properties", {}), physical, attributes)
        name = properties.get("GroupName", logical)
        client.create_group(
            GroupName=name, UserPoolId=properties["UserPoolId"], Description=properties.get("Description", "")
        )
        physical[logical] = name


@dataclass
class UserDirectory:
    """Users of one pool, signed in through one app client (``USER_PASSWORD_AUTH``)."""

    client: Any
    pool_id: str
    client_id: str
    _created: set[str] = field(default_factory=set)

    def ensure_user(self, username: str, password: str, groups: Iterable[str] = ()) -> str:
        """Create the user (confirmed, with a permanent password) unless it exists; its ``sub``."""
        if username not in self._created:
            with contextlib.suppress(self.client.exceptions.UsernameExistsException):
                self.client.admin_create_user(
                    UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS"
                )
            self.client.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
            )
            for group in groups:
                self.client.admin_add_user_to_group(
                    UserPoolId=self.pool_id, Username=username, GroupName=group
                )
            self._created.add(username)
        user = self.client.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return str(next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub"))

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """``InitiateAuth``'s ``AuthenticationResult``: ``AccessToken``, ``IdToken``, ``RefreshToken``."""
        result: dict[str, Any] = self.client.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )["AuthenticationResult"]
        return result


def endpoint_keys(endpoint_url: str, timeout: float = 10.0) -> KeySource:
    """JWKS documents as the moto server serves them: ``<endpoint>/<pool id>/.well-known/jwks.json``."""

    def keys(issuer: str) -> Mapping[str, Any]:
        _, pool_id = pool_of(issuer)
        url = f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            document: dict[str, Any] = json.loads(response.read())
        return document

    return keys


def in_process_keys(issuer: str) -> Mapping[str, Any]:
    """The JWKS document moto serves for every pool, read from its handler (for ``mock_aws``)."""
    pool_of(issuer)
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse  # noqa: PLC0415 - moto on use

    document: dict[str, Any] = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    return document
